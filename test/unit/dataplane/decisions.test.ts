/**
 * The pure parts of the data plane, called directly: request validation, attributes, the ingress
 * and egress decisions over a compiled snapshot.
 */
import { LoadBalancer } from '../../../kernel/lb/order';
import { destinationAttributes, normalizeIp, sourceAttributes } from '../../../dataplane/attributes';
import { compileSnapshot } from '../../../dataplane/config';
import { planEgress } from '../../../dataplane/egress/egress-decision';
import { DataPlaneErrorCode } from '../../../dataplane/errors';
import { decideIngress } from '../../../dataplane/gateway/ingress-decision';
import { firstDnsSan } from '../../../kernel/identity';
import {
  bearerToken,
  decodeAttributesHeader,
  encodeAttributesHeader,
  encodeAuthorizationBody,
  parseAuthorizationBody,
  parseFastPathHeaders,
} from '../../../dataplane/protocol';
import { decodeChunked } from '../../../dataplane/client/http1-client';
import { ALLOW_ALL, exportOf, importOf, makePki, snapshotFor, type Pki } from './harness';

let pki: Pki;
beforeAll(async () => {
  pki = await makePki(['east', 'west']);
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('request validation', () => {
  it('parses the Go-cased /authz body and round-trips it', () => {
    const request = { name: 'svc', namespace: 'ns', sourceAttributes: { a: 'b' } };
    expect(parseAuthorizationBody(Buffer.from(encodeAuthorizationBody(request)))).toEqual(request);
    expect(
      parseAuthorizationBody(Buffer.from('{"ServiceName":"s","ServiceNamespace":"n","SrcAttributes":null}')),
    ).toEqual({
      name: 's',
      namespace: 'n',
      sourceAttributes: {},
    });
  });

  it.each([
    ['not json', 'nope'],
    ['an array', '[]'],
    ['missing name', '{"ServiceNamespace":"n"}'],
    ['numeric name', '{"ServiceName":1,"ServiceNamespace":"n"}'],
    ['attribute not a string', '{"ServiceName":"s","ServiceNamespace":"n","SrcAttributes":{"a":1}}'],
    ['attributes an array', '{"ServiceName":"s","ServiceNamespace":"n","SrcAttributes":["a"]}'],
    ['name too long', JSON.stringify({ ServiceName: 'x'.repeat(300), ServiceNamespace: 'n' })],
  ])('refuses a body with %s (400)', (_what, body) => {
    expect(codeOf(() => parseAuthorizationBody(Buffer.from(body)))).toBe(DataPlaneErrorCode.badRequest);
  });

  it('decodes the fast-path headers and refuses bad attribute headers', () => {
    const headers = {
      'x-cl-export-name': 'svc',
      'x-cl-export-namespace': 'ns',
      'x-cl-source-attributes': encodeAttributesHeader({ k: 'v' }),
    };
    expect(parseFastPathHeaders(headers)).toEqual({
      name: 'svc',
      namespace: 'ns',
      sourceAttributes: { k: 'v' },
    });
    expect(codeOf(() => decodeAttributesHeader('%%%', 'h'))).toBe(DataPlaneErrorCode.badRequest);
    expect(codeOf(() => decodeAttributesHeader(['a', 'b'], 'h'))).toBe(DataPlaneErrorCode.badRequest);
    expect(codeOf(() => parseFastPathHeaders({ 'x-cl-export-name': 'svc' }))).toBe(
      DataPlaneErrorCode.badRequest,
    );
  });

  it('extracts bearer tokens only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('decodes chunked bodies, waits for incomplete ones and refuses garbage', () => {
    const raw = Buffer.from('xx5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: a\r\n\r\nNEXT');
    expect(decodeChunked(raw, 2)).toEqual({ body: Buffer.from('hello world'), end: raw.length - 4 });
    expect(decodeChunked(Buffer.from('5\r\nhel'), 0)).toBeUndefined();
    expect(decodeChunked(Buffer.from('zz\r\n'), 0)).toBe('invalid');
  });
});

describe('attributes and identity', () => {
  it('builds source and destination attributes', () => {
    expect(
      sourceAttributes(
        'east',
        { env: 'prod' },
        { ip: '10.0.0.1', namespace: 'web', serviceAccount: 'sa', labels: { app: 'x' } },
      ),
    ).toEqual({
      'peer.clusterlink.net/name': 'east',
      'peer.clusterlink.net/labels.env': 'prod',
      'client.clusterlink.net/namespace': 'web',
      'client.clusterlink.net/service-account': 'sa',
      'client.clusterlink.net/labels.app': 'x',
    });
    expect(destinationAttributes('svc', 'ns', { tier: 'gold' }, 'west', { region: 'eu' })).toEqual({
      'export.clusterlink.net/name': 'svc',
      'export.clusterlink.net/namespace': 'ns',
      'export.clusterlink.net/labels.tier': 'gold',
      'peer.clusterlink.net/name': 'west',
      'peer.clusterlink.net/labels.region': 'eu',
    });
    expect(normalizeIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });

  it('takes the first DNS SAN as the peer name', () => {
    expect(firstDnsSan('IP Address:10.0.0.1, DNS:west, DNS:dataplane.west')).toBe('west');
    expect(firstDnsSan('IP Address:10.0.0.1')).toBeUndefined();
    expect(firstDnsSan(undefined)).toBeUndefined();
  });
});

describe('ingress decision', () => {
  it('checks the export, the claimed identity and the policy with the Export’s namespace and labels', () => {
    const onlyGold = {
      name: 'gold',
      namespace: 'shop',
      spec: {
        action: 'allow' as const,
        from: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/name': 'east' } } }],
        to: [{ workloadSelector: { matchLabels: { 'export.clusterlink.net/labels.tier': 'gold' } } }],
      },
    };
    const config = compileSnapshot(
      snapshotFor(pki, {
        name: 'west',
        exports: [
          exportOf('cart', 1, { namespace: 'shop', labels: { tier: 'gold' } }),
          exportOf('misc', 2, { namespace: 'shop' }),
        ],
        policies: [onlyGold],
      }),
    );
    const request = (name: string, attrs: Record<string, string>) => ({
      name,
      namespace: 'shop',
      sourceAttributes: attrs,
    });
    expect(decideIngress(config, 'east', request('cart', {})).decision.action).toBe('allow'); // claim filled in
    expect(
      decideIngress(config, 'east', request('misc', { 'peer.clusterlink.net/name': 'east' })).decision.action,
    ).toBe('deny');
    expect(
      codeOf(() => decideIngress(config, 'east', request('cart', { 'peer.clusterlink.net/name': 'north' }))),
    ).toBe(DataPlaneErrorCode.identityMismatch);
    expect(codeOf(() => decideIngress(config, 'east', request('nope', {})))).toBe(
      DataPlaneErrorCode.noSuchExport,
    );
  });
});

describe('egress plan', () => {
  it('orders sources (unreachable last), decides each, and finds the client by IP', () => {
    const config = compileSnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [
          { name: 'west', gateways: [{ host: 'w', port: 1 }], reachable: false, labels: {} },
          { name: 'north', gateways: [{ host: 'n', port: 1 }], reachable: true, labels: { region: 'us' } },
        ],
        imports: [importOf('svc', [{ peer: 'west' }, { peer: 'north' }, { peer: 'ghost' }])],
        clients: [{ ip: '10.0.0.7', namespace: 'web', serviceAccount: 'sa', labels: {} }],
        policies: [ALLOW_ALL],
      }),
    );
    const plan = planEgress(
      config,
      new LoadBalancer(),
      config.imports.get('default/svc')!,
      '::ffff:10.0.0.7',
    );
    expect(plan.sourceAttributes['client.clusterlink.net/namespace']).toBe('web');
    expect(plan.candidates.map((c) => [c.source.peer, c.decision?.action])).toEqual([
      ['north', 'allow'],
      ['west', 'allow'], // unreachable: deferred, in spec order
      ['ghost', undefined], // unknown peer: counted unreachable, skipped by the caller
    ]);
  });
});
