/**
 * The admin HTTP server of every ClusterLink process (data plane, control plane, standalone
 * gateway): /metrics (Prometheus text), /readyz (200 once ready), /healthz (200 while the process
 * serves), plus any read-only routes the process adds (the standalone gateway's /status).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** The body of an extra GET route. A route that throws is answered 500 with its message. */
export interface AdminResponse {
  readonly contentType: string;
  readonly body: string;
}

export interface AdminServerOptions {
  readonly registry: Registry;
  readonly isReady: () => boolean;
  readonly host?: string;
  readonly port: number;
  /** Extra GET routes by path (e.g. `/status`); the built-in paths cannot be replaced. */
  readonly routes?: Readonly<Record<string, () => AdminResponse>>;
}

export interface AdminServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

const BUILT_IN = ['/metrics', '/healthz', '/readyz'];

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const routes = options.routes ?? {};
  const known = [...Object.keys(routes).filter((p) => !BUILT_IN.includes(p)), ...BUILT_IN].join(', ');
  const text = (res: http.ServerResponse, status: number, body: string) =>
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      text(res, 200, 'ok\n');
    } else if (path === '/readyz') {
      const ready = options.isReady();
      text(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (metrics) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(metrics),
        () => res.writeHead(500).end(),
      );
    } else if (Object.hasOwn(routes, path)) {
      let response: AdminResponse;
      try {
        response = routes[path]();
      } catch (err) {
        text(res, 500, `${path.slice(1)} unavailable: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': response.contentType }).end(response.body);
    } else {
      text(res, 404, `not found: try ${known}\n`);
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
