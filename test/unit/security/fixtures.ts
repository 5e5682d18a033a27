/**
 * Shared set-up of the security tests: one exporting gateway ("west") with an echo export, peers
 * "east" and "north" of the same fabric, counters of what the gateway holds open, and a check that a
 * legitimate peer still gets a working tunnel.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type * as net from 'node:net';
import type { DataPlane, DataPlaneOptions } from '../../../dataplane';
import type { GatewayServer } from '../../../dataplane/gateway/server';
import { connectWithToken, requestToken } from '../../../dataplane/client/http1-client';
import {
  encodeAttributesHeader,
  EXPORT_NAME_HEADER,
  EXPORT_NAMESPACE_HEADER,
  SOURCE_ATTRIBUTES_HEADER,
} from '../../../dataplane/protocol';
import {
  collect,
  eventually,
  exportOf,
  h2Request,
  h2To,
  makePki,
  sha256,
  snapshotFor,
  startDataPlane,
  startEcho,
  tlsTo,
  type Backend,
  type Cleanup,
  type Pki,
  type SiteSpec,
} from '../dataplane/harness';

export interface Site {
  readonly pki: Pki;
  readonly dp: DataPlane;
  readonly echo: Backend;
}

export function fabric(): Promise<Pki> {
  return makePki(['east', 'west', 'north']);
}

export async function startWest(
  cleanup: Cleanup,
  pki: Pki,
  options: Partial<DataPlaneOptions> = {},
  spec: Partial<SiteSpec> = {},
): Promise<Site> {
  const echo = await startEcho(cleanup);
  const dp = await startDataPlane(cleanup, {
    ...options,
    limits: { handshakeTimeoutMs: 500, headersTimeoutMs: 500, ...options.limits },
  });
  await dp.applySnapshot(snapshotFor(pki, { name: 'west', exports: [exportOf('svc', echo.port)], ...spec }));
  return { pki, dp, echo };
}

/** What the gateway port holds: TCP connections, TLS connections, h2 sessions, ingress tunnels. */
export function held(dp: DataPlane): { raw: number; tls: number; sessions: number; tunnels: number } {
  const gateway = (dp as unknown as { gateway: GatewayServer }).gateway;
  return { ...gateway.held(), tunnels: dp.activeTunnels.ingress };
}

/** Waits until the gateway holds nothing but what `baseline` held, and the backend has no socket left. */
export async function expectBackToBaseline(site: Site, timeoutMs = 5000): Promise<void> {
  await eventually(() => {
    const h = held(site.dp);
    return h.raw === 0 && h.tls === 0 && h.sessions === 0 && h.tunnels === 0 && site.echo.sockets.size === 0;
  }, timeoutMs).catch(() => {
    throw new Error(
      `gateway still holds ${JSON.stringify(held(site.dp))}, backend ${site.echo.sockets.size}`,
    );
  });
}

export const fastHeaders = (name: string, peer: string): Record<string, string> => ({
  ':method': 'CONNECT',
  ':authority': `${name}.default`,
  [EXPORT_NAME_HEADER]: name,
  [EXPORT_NAMESPACE_HEADER]: 'default',
  [SOURCE_ATTRIBUTES_HEADER]: encodeAttributesHeader({ 'peer.clusterlink.net/name': peer }),
});

/** A legitimate peer still opens a tunnel on both protocols, and bytes go through intact. */
export async function expectStillServing(site: Site, cleanup: Cleanup): Promise<void> {
  const { dp, pki } = site;
  const session = await h2To(dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
  const ok = await h2Request(session, fastHeaders('svc', 'east'));
  expect(ok.status).toBe(200);
  const payload = randomBytes(50_000);
  const chunks: Buffer[] = [];
  ok.stream.on('data', (c: Buffer) => chunks.push(c));
  ok.stream.end(payload);
  await once(ok.stream, 'end');
  expect(sha256(Buffer.concat(chunks))).toBe(sha256(payload));
  session.close();
  await once(session, 'close');

  const socket = await tlsTo(dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
  cleanup.add(() => socket.destroy());
  const { token } = await requestToken(
    socket,
    'west',
    { name: 'svc', namespace: 'default' },
    {
      'peer.clusterlink.net/name': 'east',
    },
    2000,
  );
  await connectWithToken(socket, 'west', token, 2000);
  const result = collect(socket as unknown as net.Socket);
  socket.end(payload);
  expect(sha256((await result).data)).toBe(sha256(payload));
}
