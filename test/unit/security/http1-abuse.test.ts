/**
 * The compatible HTTP/1.1 protocol under hostile input from an authenticated peer: request smuggling
 * shapes, bytes pipelined after CONNECT, oversized or malformed /authz bodies, long tokens, CONNECT to
 * an address, slow senders. Every refusal leaves the gateway holding nothing.
 */
import type * as net from 'node:net';
import { issueToken } from '../../../dataplane/token';
import { collect, Cleanup, startEcho, tlsTo, TOKEN_KEY, type Outcome, type Pki } from '../dataplane/harness';
import { expectBackToBaseline, expectStillServing, fabric, startWest, type Site } from './fixtures';

jest.setTimeout(10_000);

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await fabric();
});
afterEach(() => cleanup.run());

async function asNorth(site: Site) {
  const socket = await tlsTo(site.dp, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
  cleanup.add(() => socket.destroy());
  socket.once('end', () => socket.end());
  return socket;
}

/** Writes `request` (without half-closing) and collects everything until the gateway closes. */
async function send(site: Site, request: string | Buffer): Promise<Outcome & { text: string }> {
  const socket = await asNorth(site);
  const outcome = collect(socket as unknown as net.Socket);
  socket.write(request);
  const o = await outcome;
  return { ...o, text: o.data.toString('latin1') };
}

const statusLines = (text: string): string[] => text.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];

const authzBody = JSON.stringify({
  ServiceName: 'svc',
  ServiceNamespace: 'default',
  SrcAttributes: { 'peer.clusterlink.net/name': 'north' },
});
const tokenFor = (peer = 'north', exportName = 'svc') =>
  issueToken(Buffer.from(TOKEN_KEY, 'base64'), { exportName, exportNamespace: 'default', peer }).token;

describe('HTTP/1.1 request smuggling shapes', () => {
  it('Content-Length together with Transfer-Encoding: 400, connection closed, nothing after it served', async () => {
    const site = await startWest(cleanup, pki);
    const smuggled = 'GET /healthz HTTP/1.1\r\nHost: west\r\n\r\n';
    const r = await send(
      site,
      `POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: ${4 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    );
    expect(statusLines(r.text)).toEqual(['HTTP/1.1 400']);
    await expectBackToBaseline(site);
  });

  it('two different Content-Length headers: 400', async () => {
    const site = await startWest(cleanup, pki);
    const r = await send(
      site,
      `POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: 2\r\nContent-Length: ${authzBody.length}\r\n\r\n${authzBody}`,
    );
    expect(statusLines(r.text)).toEqual(['HTTP/1.1 400']);
    await expectBackToBaseline(site);
  });

  it('a Transfer-Encoding other than chunked, and an obfuscated one: 400', async () => {
    const site = await startWest(cleanup, pki);
    for (const te of ['gzip', 'chunked, identity', ' chunked', 'xchunked']) {
      const r = await send(
        site,
        `POST /authz HTTP/1.1\r\nHost: west\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`,
      );
      expect(statusLines(r.text)[0]).toBe('HTTP/1.1 400');
    }
    await expectBackToBaseline(site);
  });
});

describe('CONNECT', () => {
  it('bytes pipelined after an accepted CONNECT belong to the tunnel, not to the gateway', async () => {
    const site = await startWest(cleanup, pki);
    const pipelined = 'POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: 2\r\n\r\n{}';
    const socket = await asNorth(site);
    const outcome = collect(socket as unknown as net.Socket);
    socket.end(
      `CONNECT west:443 HTTP/1.1\r\nHost: west:443\r\nAuthorization: Bearer ${tokenFor()}\r\n\r\n${pipelined}`,
    );
    const text = (await outcome).data.toString('latin1');
    // One 200 from the gateway, then the echo of the pipelined bytes (not a gateway answer to them).
    expect(statusLines(text)).toEqual(['HTTP/1.1 200']);
    expect(text.endsWith(pipelined)).toBe(true);
    await expectBackToBaseline(site);
  });

  it('a refused CONNECT closes the connection: a request pipelined after it is not served', async () => {
    const site = await startWest(cleanup, pki);
    const r = await send(
      site,
      `CONNECT west:443 HTTP/1.1\r\nHost: west\r\nAuthorization: Bearer v1.bad.token\r\n\r\n` +
        `POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: ${authzBody.length}\r\n\r\n${authzBody}`,
    );
    expect(statusLines(r.text)).toEqual(['HTTP/1.1 401']);
    expect(r.text).not.toContain('x-access-token');
    await expectBackToBaseline(site);
  });

  it('the target comes from the token only: CONNECT naming another address reaches the export', async () => {
    const secret = await startEcho(cleanup); // a service on the gateway host that is not exported
    const site = await startWest(cleanup, pki);
    for (const authority of [
      `127.0.0.1:${secret.port}`,
      `localhost:${secret.port}`,
      `[::1]:${secret.port}`,
    ]) {
      const socket = await asNorth(site);
      const outcome = collect(socket as unknown as net.Socket);
      socket.end(
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nAuthorization: Bearer ${tokenFor()}\r\n\r\nping`,
      );
      const text = (await outcome).data.toString('latin1');
      expect(text).toMatch(/^HTTP\/1\.1 200/);
      expect(text.endsWith('ping')).toBe(true);
    }
    expect(secret.accepted).toBe(0);
    expect(site.echo.accepted).toBe(3);
    await expectBackToBaseline(site);
  });

  it('a very long token: 401 (bounded parsing); beyond the head limit: 431', async () => {
    const site = await startWest(cleanup, pki);
    const long = await send(
      site,
      `CONNECT west:443 HTTP/1.1\r\nHost: west\r\nAuthorization: Bearer ${'a'.repeat(8000)}\r\n\r\n`,
    );
    expect(statusLines(long.text)).toEqual(['HTTP/1.1 401']);
    const huge = await send(
      site,
      `CONNECT west:443 HTTP/1.1\r\nHost: west\r\nAuthorization: Bearer ${'a'.repeat(40_000)}\r\n\r\n`,
    );
    expect(statusLines(huge.text)).toEqual(['HTTP/1.1 431']);
    await expectBackToBaseline(site);
  });
});

describe('/authz bodies', () => {
  it('a huge body: 413 and the connection is closed (Content-Length and chunked)', async () => {
    const site = await startWest(cleanup, pki);
    const big = Buffer.alloc(1024 * 1024, 'a');
    const byLength = await send(
      site,
      Buffer.concat([
        Buffer.from(`POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: ${big.length}\r\n\r\n`),
        big,
      ]),
    );
    expect(statusLines(byLength.text)).toEqual(['HTTP/1.1 413']);
    const chunk = Buffer.concat([
      Buffer.from(`${big.length.toString(16)}\r\n`),
      big,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    const chunked = await send(
      site,
      Buffer.concat([
        Buffer.from('POST /authz HTTP/1.1\r\nHost: west\r\nTransfer-Encoding: chunked\r\n\r\n'),
        chunk,
      ]),
    );
    expect(statusLines(chunked.text)).toEqual(['HTTP/1.1 413']);
    await expectBackToBaseline(site);
  });

  it('non-JSON, wrong-typed and oversized fields: 400 with a clear code; no token issued', async () => {
    const site = await startWest(cleanup, pki);
    const bodies = [
      'not json',
      '[]',
      'null',
      '"svc"',
      JSON.stringify({ ServiceName: 1, ServiceNamespace: 'default' }),
      JSON.stringify({ ServiceName: 'svc', ServiceNamespace: ['default'] }),
      JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', SrcAttributes: 'x' }),
      JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', SrcAttributes: { a: 1 } }),
      JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', SrcAttributes: ['a'] }),
      JSON.stringify({ ServiceName: 's'.repeat(300), ServiceNamespace: 'default' }),
      JSON.stringify({
        ServiceName: 'svc',
        ServiceNamespace: 'default',
        SrcAttributes: { k: 'v'.repeat(2000) },
      }),
      JSON.stringify({
        ServiceName: 'svc',
        ServiceNamespace: 'default',
        SrcAttributes: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'])),
      }),
      JSON.stringify({ ServiceName: 'svc', ServiceNamespace: 'default', __proto__: { polluted: 1 } }).replace(
        '}',
        ',"SrcAttributes":{"__proto__":"x","constructor":"y"}}',
      ),
    ];
    for (const body of bodies) {
      const r = await send(
        site,
        `POST /authz HTTP/1.1\r\nHost: west\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      const line = statusLines(r.text)[0];
      // The last body is well-formed: attribute names like __proto__ are just strings (policy decides).
      if (body.includes('constructor')) expect(line).toBe('HTTP/1.1 200');
      else {
        expect([line, body]).toEqual(['HTTP/1.1 400', body]);
        expect(r.text.toLowerCase()).toContain('x-cl-error-code: cl_err_bad_request');
        expect(r.text.toLowerCase()).not.toContain('x-access-token');
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectBackToBaseline(site);
  });

  it('a body that trickles in: 408 after the body timeout, connection closed', async () => {
    const site = await startWest(cleanup, pki, { limits: { bodyTimeoutMs: 300 } });
    const socket = await asNorth(site);
    const outcome = collect(socket as unknown as net.Socket);
    socket.write(`POST /authz HTTP/1.1\r\nHost: west\r\nContent-Length: ${authzBody.length}\r\n\r\n`);
    const timer = setInterval(() => socket.writable && socket.write(' '), 50);
    const text = (await outcome).data.toString('latin1');
    clearInterval(timer);
    expect(statusLines(text)).toEqual(['HTTP/1.1 408']);
    await expectBackToBaseline(site);
  });

  it('a body trickled into a request that takes none (GET /healthz, unsupported paths) does not hold the connection', async () => {
    const site = await startWest(cleanup, pki, { limits: { bodyTimeoutMs: 300 } });
    for (const head of [
      'GET /healthz HTTP/1.1\r\nHost: west\r\nContent-Length: 1000000\r\n\r\n',
      'PUT /anything HTTP/1.1\r\nHost: west\r\nTransfer-Encoding: chunked\r\n\r\n',
    ]) {
      const socket = await asNorth(site);
      const outcome = collect(socket as unknown as net.Socket);
      socket.write(head);
      const timer = setInterval(
        () => socket.writable && socket.write(head.includes('chunked') ? '1\r\na\r\n' : 'a'),
        50,
      );
      const text = (await outcome).data.toString('latin1');
      clearInterval(timer);
      expect(statusLines(text).length).toBe(1);
    }
    await expectBackToBaseline(site);
  });

  it('slow-loris request head: the connection is closed at the headers timeout', async () => {
    const site = await startWest(cleanup, pki);
    const socket = await asNorth(site);
    const outcome = collect(socket as unknown as net.Socket);
    const head = 'POST /authz HTTP/1.1\r\nHost: west\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    const timer = setInterval(() => socket.writable && socket.write(head[i++ % head.length]), 20);
    const o = await outcome;
    clearInterval(timer);
    expect(statusLines(o.data.toString())).toEqual([]);
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });
});
