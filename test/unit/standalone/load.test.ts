import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfigDirectory, parseConfigFiles } from '../../../controller/standalone/load';
import { invalidText } from '../../../controller/standalone/objects';

const UPSTREAM = path.join(__dirname, '../../integration/fixtures/upstream-manifests');

function parse(file: string, text: string) {
  return parseConfigFiles([{ file, text }]);
}

const IMPORT = `apiVersion: clusterlink.net/v1alpha1
kind: Import
metadata: { name: echo, namespace: default }
spec:
  port: 9000
  sources:
    - { peer: east, exportName: echo, exportNamespace: default }
    - { peer: west, exportName: echo, exportNamespace: default }
`;

describe('standalone configuration loading', () => {
  it('reads every kind from a multi-document file with defaults', () => {
    const config = parse(
      'all.yaml',
      `apiVersion: clusterlink.net/v1alpha1
kind: Peer
metadata: { name: east }
spec: { gateways: [{ host: 127.0.0.2, port: 8443 }] }
---
apiVersion: clusterlink.net/v1alpha1
kind: Export
metadata: { name: echo, labels: { tier: web } }
spec: { host: 127.0.0.1, port: 8080 }
---
${IMPORT}---
apiVersion: clusterlink.net/v1alpha1
kind: AccessPolicy
metadata: { name: allow-all, namespace: default }
spec: { action: allow, from: [{ workloadSelector: {} }], to: [{ workloadSelector: {} }] }
---
apiVersion: clusterlink.net/v1alpha1
kind: PrivilegedAccessPolicy
metadata: { name: deny-west }
spec:
  action: deny
  from: [{ workloadSelector: { matchExpressions: [{ key: peer.clusterlink.net/name, operator: In, values: [west] }] } }]
  to: [{ workloadSelector: {} }]
---
`,
    );
    expect(config.invalid).toEqual([]);
    expect(config.peers).toEqual([
      {
        kind: 'Peer',
        name: 'east',
        gateways: [{ host: '127.0.0.2', port: 8443 }],
        origin: { file: 'all.yaml', index: 0 },
      },
    ]);
    expect(config.exports[0]).toMatchObject({
      name: 'echo',
      namespace: 'default',
      host: '127.0.0.1',
      port: 8080,
      labels: { tier: 'web' },
    });
    expect(config.imports[0]).toMatchObject({
      name: 'echo',
      port: 9000,
      lbScheme: 'round-robin',
      origin: { index: 2 },
    });
    expect(config.imports[0].sources).toHaveLength(2);
    expect(config.policies.map((p) => [p.kind, p.policy.namespace])).toEqual([
      ['AccessPolicy', 'default'],
      ['PrivilegedAccessPolicy', undefined],
    ]);
    expect(config.policies[1].policy.spec.from[0].workloadSelector?.matchExpressions?.[0]).toEqual({
      key: 'peer.clusterlink.net/name',
      operator: 'In',
      values: ['west'],
    });
  });

  it.each([
    [
      'spec: { port: 70000, sources: [{ peer: a, exportName: b, exportNamespace: c }] }',
      'x.yaml[0] spec.port: must be an integer 1-65535 (got number 70000)',
    ],
    [
      'spec: { port: "80", sources: [{ peer: a, exportName: b, exportNamespace: c }] }',
      'x.yaml[0] spec.port: must be an integer 1-65535 (got string "80")',
    ],
    ['spec: { port: 80, sources: [] }', 'x.yaml[0] spec.sources: must list at least one source'],
    [
      'spec: { port: 80, sources: [{ peer: a, exportName: b }] }',
      'x.yaml[0] spec.sources[0].exportNamespace: must be a non-empty string (got nothing)',
    ],
    [
      'spec: { port: 80, lbScheme: fastest, sources: [{ peer: a, exportName: b, exportNamespace: c }] }',
      'x.yaml[0] spec.lbScheme: must be one of round-robin, random, static',
    ],
    [
      'spec: { port: 80, prot: 1, sources: [{ peer: a, exportName: b, exportNamespace: c }] }',
      'x.yaml[0] spec.prot: unknown field',
    ],
    [
      'spec: { port: 80, targetPort: -1, sources: [{ peer: a, exportName: b, exportNamespace: c }] }',
      'x.yaml[0] spec.targetPort: must be an integer 0-65535',
    ],
  ])('reports an invalid Import field: %s', (spec, message) => {
    const config = parse(
      'x.yaml',
      `apiVersion: clusterlink.net/v1alpha1\nkind: Import\nmetadata: { name: i }\n${spec}\n`,
    );
    expect(config.imports).toEqual([]);
    expect(config.invalid).toHaveLength(1);
    expect(invalidText(config.invalid[0])).toContain(message);
    expect(config.invalid[0]).toMatchObject({ kind: 'Import', name: 'i' });
  });

  it.each([
    ['kind: Export\nmetadata: { name: e }\nspec: { port: 80 }', 'spec.host: is required without Kubernetes'],
    ['kind: Export\nmetadata: { name: e }\nspec: { host: h }', 'spec.port: must be an integer 1-65535'],
    [
      'kind: Peer\nmetadata: { name: p }\nspec: { gateways: [] }',
      'spec.gateways: must list at least one gateway',
    ],
    [
      'kind: Peer\nmetadata: { name: p }\nspec: { gateways: [{ host: h, port: 0 }] }',
      'spec.gateways[0].port: must be an integer 1-65535',
    ],
    [
      'kind: Peer\nmetadata: { name: Bad_Name }\nspec: { gateways: [{ host: h, port: 1 }] }',
      'metadata.name: "Bad_Name" must be a DNS name',
    ],
    ['kind: Frob\nmetadata: { name: p }\nspec: {}', 'kind: must be one of Peer, Export, Import'],
    ['kind: Peer\nspec: {}', 'metadata: must be a map (got nothing)'],
    [
      'kind: AccessPolicy\nmetadata: { name: p }\nspec: { action: maybe, from: [], to: [] }',
      'spec.action: must be allow or deny',
    ],
    [
      'kind: AccessPolicy\nmetadata: { name: p }\nspec: { action: allow, from: [{}], to: [{ workloadSelector: {} }] }',
      'spec.from[0]: must set exactly one of workloadSelector or workloadSets',
    ],
    [
      'kind: AccessPolicy\nmetadata: { name: p }\nspec: { action: allow, from: [{ workloadSelector: { matchExpressions: [{ key: k, operator: Near }] } }], to: [{ workloadSelector: {} }] }',
      'spec.from[0].workloadSelector.matchExpressions[0].operator: must be one of In, NotIn, Exists, DoesNotExist',
    ],
    [
      'kind: AccessPolicy\nmetadata: { name: p }\nspec: { action: allow, from: [{ workloadSelector: { matchExpressions: [{ key: k, operator: In }] } }], to: [{ workloadSelector: {} }] }',
      'spec.from[0].workloadSelector.matchExpressions[0].values: must not be empty for operator In',
    ],
  ])('reports %s', (body, message) => {
    const config = parse('y.yaml', `apiVersion: clusterlink.net/v1alpha1\n${body}\n`);
    expect(config.invalid).toHaveLength(1);
    expect(invalidText(config.invalid[0])).toContain(`y.yaml[0] ${message}`);
  });

  it('rejects a wrong apiVersion', () => {
    const config = parse('z.yaml', 'apiVersion: v1\nkind: Peer\nmetadata: { name: p }\nspec: {}\n');
    expect(invalidText(config.invalid[0])).toBe(
      'z.yaml[0] apiVersion: must be clusterlink.net/v1alpha1 (got string "v1")',
    );
  });

  it('keeps the good documents of a file when one is bad YAML, with the line', () => {
    const config = parse(
      'm.yaml',
      `${IMPORT}---\nkind: Peer\nmetadata: { name: [unclosed\n---\n${IMPORT.replace('name: echo', 'name: echo2').replace('9000', '9001')}`,
    );
    expect(config.imports.map((i) => i.name)).toEqual(['echo', 'echo2']);
    expect(config.invalid).toHaveLength(1);
    expect(config.invalid[0].origin).toEqual({ file: 'm.yaml', index: 1 });
    expect(config.invalid[0].error).toMatch(/^YAML syntax error at line \d+/);
  });

  it('reports duplicates and import port collisions against the first definition', () => {
    const config = parseConfigFiles(
      [
        { file: 'a.yaml', text: IMPORT },
        { file: 'b.yaml', text: IMPORT },
        { file: 'c.yaml', text: IMPORT.replace('name: echo', 'name: other') },
        {
          file: 'd.yaml',
          text: IMPORT.replace('name: echo', 'name: third').replace('port: 9000', 'port: 9002'),
        },
      ],
      { reservedPorts: [9002] },
    );
    expect(config.imports.map((i) => i.name)).toEqual(['echo']);
    expect(config.invalid.map(invalidText)).toEqual([
      'b.yaml[0] metadata.name: duplicate of Import/default/echo already defined in a.yaml[0]',
      'c.yaml[0] spec.port: port 9000 is already used by Import default/echo (a.yaml[0])',
      'd.yaml[0] spec.port: port 9002 is used by the gateway itself',
    ]);
  });

  it('reports an unreadable file without failing', () => {
    const config = parseConfigFiles([{ file: 'locked.yaml', error: 'EACCES' }]);
    expect(invalidText(config.invalid[0])).toBe('locked.yaml[0] cannot read file: EACCES');
  });

  it('accepts every upstream ClusterLink manifest that does not need a Kubernetes Service', () => {
    const files = readdirSync(UPSTREAM)
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => ({
        file,
        text: readFileSync(path.join(UPSTREAM, file), 'utf8'),
      }));
    const config = parseConfigFiles(files);
    // Upstream Exports name a Service (no spec.host): without Kubernetes that is the one expected refusal.
    // Import names and ports repeat across unrelated demos, so duplicates are expected too, and
    // some files also hold plain Kubernetes objects, which are reported as not ours.
    const unexpected = config.invalid.filter(
      (i) =>
        !i.error.startsWith('spec.host: is required') &&
        !/duplicate of|already used by/.test(i.error) &&
        !i.error.startsWith('apiVersion: must be clusterlink.net/v1alpha1 (got string "v1")'),
    );
    expect(unexpected.map(invalidText)).toEqual([]);
    expect(config.peers.length + config.imports.length + config.policies.length).toBeGreaterThan(10);
  });

  describe('from a directory', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'cl-load-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads only *.yaml / *.yml, ignores dot files, and digests content', async () => {
      writeFileSync(path.join(dir, 'imports.yaml'), IMPORT);
      writeFileSync(path.join(dir, 'notes.txt'), 'not config');
      writeFileSync(path.join(dir, '.imports.yaml.swp'), 'garbage: [');
      writeFileSync(path.join(dir, 'empty.yml'), '');
      const first = await loadConfigDirectory(dir);
      expect(first.config.imports).toHaveLength(1);
      expect(first.config.invalid).toEqual([]);
      expect((await loadConfigDirectory(dir)).digest).toBe(first.digest);
      writeFileSync(path.join(dir, 'imports.yaml'), IMPORT.replace('9000', '9001'));
      expect((await loadConfigDirectory(dir)).digest).not.toBe(first.digest);
    });
  });
});
