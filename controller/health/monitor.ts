/**
 * HeartbeatMonitor: probes every gateway of every Peer on its own schedule (1 s while reachable,
 * 10 s while not), feeds the results to the health state machine, and emits a `change` event with
 * the peer's health whenever its verdict, reason, message or labels change. Timers come from an
 * injectable clock and probes from an injectable prober, so the schedule is testable without
 * sleeping; by default probes are real mTLS heartbeats (HttpsProber).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../kernel/log';
import { rootLogger } from '../../kernel/log';
import { formatAddress, messageOf } from './classify';
import { ProbeAbortedError } from './errors';
import { HttpsProber, type Prober, type TlsMaterial } from './probe';
import { GatewayHealth, peerHealth } from './state';
import {
  DEFAULT_HEALTH_POLICY,
  type Gateway,
  type HealthPolicy,
  type Labels,
  type PeerHealth,
  type PeerTarget,
  type ProbeResult,
} from './types';

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref(); // heartbeats alone never keep a process alive
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HeartbeatMonitorOptions {
  /** Our TLS material; required unless `prober` is given. */
  readonly tls?: TlsMaterial;
  /** Replaces the mTLS heartbeat (tests); the monitor owns it and closes it. */
  readonly prober?: Prober;
  /** @default systemClock */
  readonly clock?: Clock;
  readonly policy?: Partial<HealthPolicy>;
  /** Per-probe timeout of the default prober. @default 3000 */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

export interface HeartbeatMonitorEvents {
  change: [health: PeerHealth];
}

function gatewayKey(gateway: Gateway): string {
  return `${gateway.host}\u0000${gateway.port}`;
}

function validGateway(gateway: unknown): gateway is Gateway {
  const g = gateway as Partial<Gateway> | null;
  return (
    typeof g === 'object' &&
    g !== null &&
    typeof g.host === 'string' &&
    g.host.length > 0 &&
    Number.isInteger(g.port) &&
    (g.port as number) >= 1 &&
    (g.port as number) <= 65535
  );
}

class GatewayProbeLoop {
  readonly health: GatewayHealth;
  private timer: unknown;
  private abort: AbortController | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly peer: PeerState,
    readonly gateway: Gateway,
    policy: HealthPolicy,
  ) {
    this.health = new GatewayHealth(gateway, policy);
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops probing; resolves once an in-flight probe has settled. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.peer.monitor.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    return this.inFlight ?? Promise.resolve();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.peer.monitor.clock.setTimeout(() => {
      this.timer = undefined;
      this.probeOnce();
    }, ms);
  }

  private probeOnce(): void {
    if (this.stopped) return;
    const abort = new AbortController();
    this.abort = abort;
    const monitor = this.peer.monitor;
    let probe: Promise<ProbeResult>;
    try {
      probe = monitor.prober.probe(this.peer.name, this.gateway, abort.signal);
    } catch (err) {
      probe = Promise.reject(err);
    }
    this.inFlight = probe.then(
      (result) => this.onResult(result),
      (err: unknown) => {
        if (err instanceof ProbeAbortedError || this.stopped) return;
        // A prober must resolve failures; anything else is a bug, reported as a failure.
        this.onResult({
          ok: false,
          reason: 'ProbeError',
          message: `heartbeat to ${formatAddress(this.gateway)} failed: ${messageOf(err)}`,
        });
      },
    );
  }

  private onResult(result: ProbeResult): void {
    this.abort = undefined;
    this.inFlight = undefined;
    if (this.stopped) return;
    this.health.record(result, this.peer.monitor.clock.now());
    this.peer.refresh();
    this.schedule(this.health.nextDelayMs());
  }
}

class PeerState {
  loops = new Map<string, GatewayProbeLoop>();
  private current: PeerHealth;
  private emittedKey: string | undefined;

  constructor(
    readonly monitor: HeartbeatMonitor,
    readonly name: string,
  ) {
    this.current = {
      peer: name,
      reachable: false,
      verdict: 'unknown',
      reason: 'Probing',
      message: 'waiting for the first heartbeat',
      labels: {},
      since: monitor.clock.now(),
    };
  }

  get health(): PeerHealth {
    return this.current;
  }

  /** Adds, keeps or removes gateway loops; returns the stops of removed ones. */
  setGateways(gateways: readonly Gateway[], policy: HealthPolicy): Promise<void>[] {
    const wanted = new Map(gateways.map((g) => [gatewayKey(g), g]));
    const stops: Promise<void>[] = [];
    for (const [key, loop] of this.loops) {
      if (wanted.has(key)) continue;
      this.loops.delete(key);
      stops.push(loop.stop());
      this.monitor.forgetGateway(this.name, loop.gateway);
    }
    const added: GatewayProbeLoop[] = [];
    for (const [key, gateway] of wanted) {
      if (this.loops.has(key)) continue;
      const loop = new GatewayProbeLoop(this, gateway, policy);
      this.loops.set(key, loop);
      added.push(loop);
    }
    if (stops.length > 0 || added.length > 0) this.refresh();
    for (const loop of added) loop.start();
    return stops;
  }

  stop(): Promise<void>[] {
    const stops = [...this.loops.values()].map((loop) => {
      this.monitor.forgetGateway(this.name, loop.gateway);
      return loop.stop();
    });
    this.loops.clear();
    return stops;
  }

  /** Recomputes the peer's health and emits it when something a user would see changed. */
  refresh(): void {
    const gateways = [...this.loops.values()].map((loop) => loop.health);
    const summary = peerHealth(this.name, gateways, this.current.labels);
    const since = summary.verdict === this.current.verdict ? this.current.since : this.monitor.clock.now();
    this.current = { ...summary, since };
    const anyResult = gateways.some((g) => g.lastResult !== undefined);
    if (!anyResult) return; // nothing learned yet: no event
    const key = JSON.stringify([summary.verdict, summary.reason, summary.message, summary.labels]);
    if (key === this.emittedKey) return;
    this.emittedKey = key;
    this.monitor.emitChange(this.current);
  }
}

export class HeartbeatMonitor extends EventEmitter<HeartbeatMonitorEvents> {
  readonly clock: Clock;
  readonly prober: Prober;
  private readonly policy: HealthPolicy;
  private readonly logger: Logger;
  private readonly peers = new Map<string, PeerState>();
  private readonly pendingStops = new Set<Promise<void>>();
  private closed = false;

  constructor(options: HeartbeatMonitorOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.policy = { ...DEFAULT_HEALTH_POLICY, ...options.policy };
    this.logger = options.logger ?? rootLogger.child({ component: 'heartbeat' });
    if (options.prober) {
      this.prober = options.prober;
    } else {
      if (!options.tls) throw new TypeError('HeartbeatMonitor needs `tls` (or a `prober`)');
      this.prober = new HttpsProber({ tls: options.tls, timeoutMs: options.timeoutMs });
    }
  }

  /**
   * Sets the peers to watch: new peers start probing at once, removed peers stop (their
   * connections are closed), peers whose gateways changed probe the new gateways. Invalid entries
   * (no name, bad host or port) are skipped and logged.
   */
  update(peers: readonly PeerTarget[]): void {
    if (this.closed) return;
    const wanted = new Map<string, Gateway[]>();
    for (const peer of peers) {
      if (typeof peer?.name !== 'string' || peer.name.length === 0) {
        this.logger.warn({ peer }, 'ignoring a peer without a name');
        continue;
      }
      if (wanted.has(peer.name)) continue;
      const gateways = Array.isArray(peer.gateways) ? peer.gateways.filter(validGateway) : [];
      if (gateways.length !== (Array.isArray(peer.gateways) ? peer.gateways.length : 0)) {
        this.logger.warn({ peer: peer.name }, 'ignoring gateways without a valid host and port');
      }
      wanted.set(peer.name, gateways);
    }
    for (const [name, state] of this.peers) {
      if (wanted.has(name)) continue;
      this.peers.delete(name);
      this.track(state.stop());
      this.logger.debug({ peer: name }, 'heartbeat stopped');
    }
    for (const [name, gateways] of wanted) {
      let state = this.peers.get(name);
      if (state === undefined) {
        state = new PeerState(this, name);
        this.peers.set(name, state);
        this.logger.debug({ peer: name }, 'heartbeat started');
      }
      this.track(state.setGateways(gateways, this.policy));
    }
  }

  /** The current health of a watched peer. */
  status(peer: string): PeerHealth | undefined {
    return this.peers.get(peer)?.health;
  }

  /** The current health of every watched peer. */
  statuses(): PeerHealth[] {
    return [...this.peers.values()].map((state) => state.health);
  }

  /** New TLS material (certificate rotation): takes effect from the next heartbeat. */
  setTls(tls: TlsMaterial): void {
    this.prober.setTls?.(tls);
  }

  /** Stops every heartbeat and closes every connection; resolves when all probes have settled. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const state of this.peers.values()) this.track(state.stop());
      this.peers.clear();
      this.prober.close?.();
    }
    while (this.pendingStops.size > 0) await Promise.all([...this.pendingStops]);
  }

  /** @internal */
  emitChange(health: PeerHealth): void {
    this.logger.info(
      { peer: health.peer, verdict: health.verdict, reason: health.reason, rttMs: health.rttMs },
      health.message,
    );
    try {
      this.emit('change', health);
    } catch (err) {
      // A faulty listener must not stop the heartbeats of every peer.
      this.logger.error({ err, peer: health.peer }, 'heartbeat change listener failed');
    }
  }

  /** @internal */
  forgetGateway(peer: string, gateway: Gateway): void {
    this.prober.forget?.(peer, gateway);
  }

  private track(stops: Promise<void>[]): void {
    for (const stop of stops) {
      this.pendingStops.add(stop);
      void stop.finally(() => this.pendingStops.delete(stop));
    }
  }
}

export type { Labels };
