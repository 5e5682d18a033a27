/**
 * Nothing secret reaches the logs: a tunnel on both protocols and a series of refusals, with both
 * gateways logging at trace level into a buffer; no private key, token key or token may appear.
 */
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../../../kernel/log';
import { requestToken } from '../../../dataplane/client/http1-client';
import { issueToken } from '../../../dataplane/token';
import {
  Cleanup,
  collect,
  connectTo,
  exportOf,
  h2Request,
  h2To,
  importAddress,
  importOf,
  peer,
  sha256,
  snapshotFor,
  startDataPlane,
  startEcho,
  tlsTo,
  TOKEN_KEY,
  type Pki,
} from '../dataplane/harness';
import { fabric, fastHeaders } from './fixtures';

jest.setTimeout(20_000);

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await fabric();
});
afterEach(() => cleanup.run());

it('trace-level logs of tunnels and refusals carry no key, token key or token', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'trace', destination });
  const echo = await startEcho(cleanup);
  const west = await startDataPlane(cleanup, { logger: logger.child({ site: 'west' }) });
  const eastH2 = await startDataPlane(cleanup, { logger: logger.child({ site: 'east' }) });
  const eastH1 = await startDataPlane(cleanup, {
    logger: logger.child({ site: 'east-h1' }),
    forceHttp1: true,
  });
  await west.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)] }));
  for (const east of [eastH2, eastH1]) {
    await east.applySnapshot(
      snapshotFor(pki, {
        name: 'east',
        peers: [peer('west', west)],
        imports: [importOf('svc', [{ peer: 'west' }]), importOf('gone', [{ peer: 'west' }])],
      }),
    );
    // A tunnel, and one refused by the exporting side (no such export).
    const payload = randomBytes(10_000);
    const client = await connectTo(importAddress(east, 'svc'));
    const result = collect(client);
    client.end(payload);
    expect(sha256((await result).data)).toBe(sha256(payload));
    const refused = await connectTo(importAddress(east, 'gone'));
    const r = collect(refused);
    refused.end('x');
    expect((await r).end).toBe('error');
  }

  // Refusals on the gateway port: forged and replayed tokens, a bad fast-path request.
  const socket = await tlsTo(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
  cleanup.add(() => socket.destroy());
  const { token } = await requestToken(
    socket,
    'west',
    { name: 'svc', namespace: 'default' },
    { 'peer.clusterlink.net/name': 'north' },
    2000,
  );
  const forged = issueToken(randomBytes(32), {
    exportName: 'svc',
    exportNamespace: 'default',
    peer: 'north',
  }).token;
  for (const [identity, t] of [
    [pki.certs.east, token],
    [pki.certs.north, forged],
  ] as const) {
    const s = await tlsTo(west, identity, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => s.destroy());
    s.once('end', () => s.end());
    const o = collect(s as unknown as net.Socket);
    s.write(`CONNECT west:443 HTTP/1.1\r\nHost: west\r\nAuthorization: Bearer ${t}\r\n\r\n`);
    expect((await o).data.toString()).toMatch(/^HTTP\/1\.1 401/);
  }
  const session = await h2To(west, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
  cleanup.add(() => session.destroy());
  expect((await h2Request(session, { ...fastHeaders('svc', 'east') })).status).toBe(403);
  expect(
    (await h2Request(session, { ':method': 'CONNECT', ':authority': 'w', authorization: `Bearer ${forged}` }))
      .status,
  ).toBe(401);
  session.destroy();

  // Certificates change (the snapshot with new key material is logged about, never printed).
  await west.applySnapshot(
    snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)], tls: pki.certs.west }),
  );
  // An invalid snapshot (token key too short) is refused and logged.
  await expect(
    west.applySnapshot({
      ...snapshotFor(pki, { name: 'west' }),
      tokenKey: Buffer.alloc(8, 7).toString('base64'),
    }),
  ).rejects.toThrow();

  const log = lines.join('');
  expect(lines.length).toBeGreaterThan(10); // the logs were written (trace level reached the buffer)
  expect(log).toContain('authorization decision');
  const secrets: Record<string, string> = {
    'PEM private key': 'PRIVATE KEY',
    'token key (base64)': TOKEN_KEY,
    'token key (hex)': Buffer.from(TOKEN_KEY, 'base64').toString('hex'),
    'issued token': token,
    'issued token signature': token.split('.')[2],
    'forged token': forged,
    'bearer header': 'Bearer ',
  };
  for (const name of ['east', 'west', 'north']) {
    secrets[`key of ${name}`] = pki.certs[name].key.split('\n')[1];
  }
  secrets['key of the CA'] = pki.ca.key.split('\n')[1];
  for (const [what, secret] of Object.entries(secrets)) {
    expect([what, log.includes(secret)]).toEqual([what, false]);
  }
});
