/**
 * One pooled HTTP/2 session per remote gateway (peer, host, port): opened on demand, kept alive
 * with pings, replaced when it dies, receives GOAWAY, or its certificates are outdated (established
 * streams finish on the old one). A gateway that negotiates only http/1.1 is remembered as such for
 * a while, so the caller uses the compatible protocol without asking for h2 each time.
 */
import * as http2 from 'node:http2';
import type { Logger } from '../../kernel/log';
import {
  h2ClientSessionOptions,
  H2_INITIAL_WINDOW_SIZE,
  H2_PING_INTERVAL_MS,
  H2_SETTINGS,
  widenConnectionWindow,
} from '../tuning';
import { applyStreamWindow } from '../h2-window';
import { ClientTls, connectTls } from './client-tls';

export type Acquired =
  { kind: 'h2'; session: http2.ClientHttp2Session; fresh: boolean } | { kind: 'http/1.1' };

interface PooledSession {
  readonly session: http2.ClientHttp2Session;
  readonly generation: number;
}

export class H2SessionPool {
  private readonly sessions = new Map<string, PooledSession>();
  private readonly pending = new Map<string, Promise<Acquired>>();
  private readonly http1Until = new Map<string, number>();
  private closed = false;
  /** Per-stream receive window in effect when it differs from the tuned one (buffer pressure). */
  private streamWindow: number | undefined;

  constructor(
    private readonly tls: ClientTls,
    private readonly options: { connectTimeoutMs: number; http1OnlyMemoryMs: number },
    private readonly logger: Logger,
  ) {}

  static key(peer: string, host: string, port: number): string {
    return `${peer}@${host}:${port}`;
  }

  /** A usable session to the gateway, or `http/1.1` when it does not speak h2. */
  acquire(peer: string, host: string, port: number): Promise<Acquired> {
    const key = H2SessionPool.key(peer, host, port);
    const until = this.http1Until.get(key);
    if (until !== undefined) {
      if (Date.now() < until) return Promise.resolve({ kind: 'http/1.1' });
      this.http1Until.delete(key);
    }
    const pooled = this.sessions.get(key);
    if (pooled) {
      const s = pooled.session;
      if (!s.closed && !s.destroyed && pooled.generation === this.tls.generation) {
        return Promise.resolve({ kind: 'h2', session: s, fresh: false });
      }
      this.retire(key, pooled);
    }
    let p = this.pending.get(key);
    if (!p) {
      p = this.open(key, peer, host, port).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p.then((a) => (a.kind === 'h2' ? { ...a, fresh: true } : a));
  }

  /** Drops a session the caller found broken (the next acquire opens a new one). */
  discard(peer: string, host: string, port: number, session: http2.ClientHttp2Session): void {
    const key = H2SessionPool.key(peer, host, port);
    const pooled = this.sessions.get(key);
    if (pooled?.session === session) this.sessions.delete(key);
    session.destroy();
  }

  /** Closes sessions to gateways no longer in `keep` (peer removed or its address changed). */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const [key, pooled] of this.sessions) if (!keep.has(key)) this.retire(key, pooled);
    for (const key of this.http1Until.keys()) if (!keep.has(key)) this.http1Until.delete(key);
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Changes the receive window of every stream of every pooled session, open streams included (an
   * h2 SETTINGS change), and of sessions to come; `undefined` restores the tuned window.
   */
  setStreamWindow(bytes: number | undefined): void {
    this.streamWindow = bytes;
    const window = bytes ?? H2_SETTINGS.initialWindowSize ?? H2_INITIAL_WINDOW_SIZE;
    for (const pooled of this.sessions.values()) applyStreamWindow(pooled.session, window);
  }

  /** Graceful: GOAWAY-free close that lets open streams finish. */
  close(): void {
    this.closed = true;
    for (const [key, pooled] of this.sessions) this.retire(key, pooled);
  }

  destroy(): void {
    this.closed = true;
    for (const pooled of this.sessions.values()) pooled.session.destroy();
    this.sessions.clear();
  }

  private retire(key: string, pooled: PooledSession): void {
    if (this.sessions.get(key) === pooled) this.sessions.delete(key);
    if (!pooled.session.closed) pooled.session.close();
  }

  private async open(key: string, peer: string, host: string, port: number): Promise<Acquired> {
    const generation = this.tls.generation;
    const socket = await connectTls(
      this.tls.connectOptions(peer, host, port, ['h2', 'http/1.1']),
      this.options.connectTimeoutMs,
      this.tls,
    );
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy();
      this.http1Until.set(key, Date.now() + this.options.http1OnlyMemoryMs);
      this.logger.info(
        { peer, gateway: `${host}:${port}` },
        'remote gateway speaks only http/1.1: using the compatible protocol',
      );
      return { kind: 'http/1.1' };
    }
    const session = http2.connect(`https://${host}:${port}`, {
      ...h2ClientSessionOptions(),
      createConnection: () => socket,
    });
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    session.on('error', (err) => this.logger.debug({ peer, err: err.message }, 'h2 session error'));
    try {
      widenConnectionWindow(session);
    } catch {
      /* closing already */
    }
    if (this.streamWindow !== undefined) applyStreamWindow(session, this.streamWindow);
    const pooled: PooledSession = { session, generation };
    if (this.closed) {
      session.close();
    } else {
      this.sessions.set(key, pooled);
    }
    session.once('goaway', () => {
      if (this.sessions.get(key) === pooled) this.sessions.delete(key);
    });
    // The socket is half-open capable (a tunnel may reset it, see tls-reset.ts), so a remote that
    // went away (FIN from a killed process) would leave the session open and new streams waiting
    // for the open timeout. The end of the remote's side ends the session now.
    socket.once('end', () => {
      if (this.sessions.get(key) === pooled) this.sessions.delete(key);
      session.destroy();
    });
    this.keepAlive(key, pooled);
    return { kind: 'h2', session, fresh: true };
  }

  /** Pings on an interval; a ping still unanswered at the next tick means the session is dead. */
  private keepAlive(key: string, pooled: PooledSession): void {
    const { session } = pooled;
    let awaiting = false;
    const timer = setInterval(() => {
      if (session.closed || session.destroyed) return;
      if (awaiting) {
        this.logger.info({ session: key }, 'h2 session did not answer a ping: replacing it');
        if (this.sessions.get(key) === pooled) this.sessions.delete(key);
        session.destroy();
        return;
      }
      awaiting = true;
      try {
        session.ping((err) => {
          awaiting = false;
          if (err && !session.destroyed) session.destroy();
        });
      } catch {
        session.destroy();
      }
    }, H2_PING_INTERVAL_MS);
    timer.unref();
    session.once('close', () => {
      clearInterval(timer);
      if (this.sessions.get(key) === pooled) this.sessions.delete(key);
    });
  }
}
