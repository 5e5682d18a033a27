/**
 * A small Kubernetes REST client over Node's http/https. Credentials come from a client-node
 * KubeConfig (client certificates, bearer tokens, exec plugins), but requests, watches and error
 * mapping are ours, so the informer and the reconcilers control timeouts, aborts and retries.
 */
import { ClusterLinkError } from '../../kernel/errors';
import * as http from 'node:http';
import * as https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeErrorCode, KubeTransportError } from './errors';
import type { KubeObject } from './object';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Defaults to application/json; merge patches pass application/merge-patch+json. */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Milliseconds before the request is abandoned. @default 30000 */
  readonly timeoutMs?: number;
}

export interface WatchEvent<T> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: T;
}

interface KubeStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

export class KubeClient {
  private readonly server: URL;
  private readonly agent: http.Agent;

  constructor(private readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) {
      throw new ClusterLinkError(KubeErrorCode.config, 'kubeconfig has no current cluster');
    }
    this.server = new URL(cluster.server);
    const isHttps = this.server.protocol === 'https:';
    this.agent = isHttps
      ? new https.Agent({ keepAlive: true, maxSockets: 32 })
      : new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  /** The API server's base URL. */
  get url(): string {
    return this.server.toString();
  }

  close(): void {
    this.agent.destroy();
  }

  private async requestOptions(method: string, path: string, query?: Query): Promise<https.RequestOptions> {
    const url = new URL(this.server.toString().replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const opts: https.RequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      headers: { accept: 'application/json' },
    };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    opts.agent = this.agent;
    return opts;
  }

  private send(
    opts: https.RequestOptions,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<http.IncomingMessage> {
    const transport = opts.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request({ ...opts, signal }, resolve);
      req.on('error', (err) => {
        reject(
          err.name === 'AbortError'
            ? err
            : new KubeTransportError(`${opts.method} ${opts.path}: ${err.message}`, { cause: err }),
        );
      });
      req.end(body);
    });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const opts = await this.requestOptions(method, path, options.query);
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      opts.headers = {
        ...opts.headers,
        'content-type': options.contentType ?? 'application/json',
        'content-length': Buffer.byteLength(body),
      };
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const res = await this.send(opts, body, signal);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      throw new KubeTransportError(`${method} ${path}: response interrupted`, { cause: err });
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, text, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T extends KubeObject>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  create<T extends KubeObject>(collection: string, obj: T): Promise<T> {
    return this.request<T>('POST', collection, { body: obj });
  }

  replace<T extends KubeObject>(path: string, obj: T): Promise<T> {
    return this.request<T>('PUT', path, { body: obj });
  }

  mergePatch<T extends KubeObject>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' });
  }

  delete(path: string, preconditions?: { uid?: string; resourceVersion?: string }): Promise<unknown> {
    return this.request('DELETE', path, {
      body: preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions } : undefined,
    });
  }

  /**
   * Opens a watch and calls `onEvent` for every event until the server ends the stream (resolves)
   * or the connection fails or the server refuses (rejects; 410 Gone as a KubeApiError with
   * statusCode 410). Aborting `signal` resolves.
   */
  async watch<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const opts = await this.requestOptions('GET', path, { ...query, watch: true });
    let res: http.IncomingMessage;
    try {
      res = await this.send(opts, undefined, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw apiError(status, Buffer.concat(chunks).toString('utf8'), 'WATCH', path);
    }
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      // readline re-emits input errors; without a listener they would be uncaught
      lines.on('error', () => undefined);
      lines.on('line', (line) => {
        if (failed || !line) return;
        let event: WatchEvent<T>;
        try {
          event = JSON.parse(line) as WatchEvent<T>;
        } catch {
          return; // a torn line at the end of an interrupted stream; the relist will repair the cache
        }
        if (event.type === 'ERROR') {
          const st = event.object as KubeStatus;
          failed = true;
          res.destroy();
          reject(
            new KubeApiError(st.code ?? 500, st.reason ?? 'WatchError', st.message ?? '', 'WATCH', path),
          );
          return;
        }
        try {
          onEvent(event);
        } catch (err) {
          failed = true;
          res.destroy();
          reject(err);
        }
      });
      res.on('error', (err) => {
        if (signal.aborted) resolve();
        else if (!failed) {
          failed = true;
          reject(new KubeTransportError(`watch ${path}: ${err.message}`, { cause: err }));
        }
      });
      res.on('close', () => {
        if (!failed) resolve();
      });
    });
  }
}

function apiError(status: number, text: string, method: string, path: string): KubeApiError {
  let st: KubeStatus = {};
  try {
    st = JSON.parse(text) as KubeStatus;
  } catch {
    st = { message: text.slice(0, 200) };
  }
  return new KubeApiError(
    status,
    st.reason ?? http.STATUS_CODES[status] ?? 'Unknown',
    st.message ?? '',
    method,
    path,
  );
}
