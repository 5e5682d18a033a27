/**
 * Source ordering for an Import (DESIGN.md section 6): the data plane tries the sources of an
 * Import in the order returned here, one after another, until one is allowed and opens.
 *
 * - round-robin: a counter per Import; each call starts one source further along.
 * - random: a uniformly random start.
 * - static: the order of `spec.sources`.
 * From the start the list wraps around, so every source is tried once. Sources on unreachable peers
 * are then moved to the end, each group keeping its order (an unreachable peer is still tried, as
 * its health verdict may be stale; upstream ClusterLink defers them the same way).
 */
import type { LbScheme } from '../api/snapshot';

export type { LbScheme };

export class LoadBalancer {
  private readonly counters = new Map<string, number>();

  /** @param random source of randomness in [0, 1) for the `random` scheme (injectable for tests). */
  constructor(private readonly random: () => number = Math.random) {}

  /**
   * Returns a new array: the order in which to try `sources` for one client connection.
   * @param key identifies the Import (`namespace/name`); round-robin state is kept per key.
   * @param scheme an unknown scheme is treated as round-robin, the API's default.
   */
  order<T extends { peer: string }>(
    key: string,
    sources: readonly T[],
    scheme: LbScheme,
    isReachable: (peer: string) => boolean,
  ): T[] {
    const count = sources.length;
    if (count === 0) return [];
    const start = this.start(key, count, scheme);
    const ordered: T[] = [];
    let deferred: T[] | undefined;
    for (let i = 0; i < count; i++) {
      const source = sources[(start + i) % count];
      if (isReachable(source.peer)) ordered.push(source);
      else (deferred ??= []).push(source);
    }
    if (deferred !== undefined) for (const source of deferred) ordered.push(source);
    return ordered;
  }

  /** Drops the state kept for an Import (call when the Import is deleted). */
  forget(key: string): void {
    this.counters.delete(key);
  }

  private start(key: string, count: number, scheme: LbScheme): number {
    if (count === 1) return 0;
    switch (scheme) {
      case 'static':
        return 0;
      case 'random': {
        const r = this.random();
        return r >= 0 && r < 1 ? Math.floor(r * count) : 0;
      }
      case 'round-robin':
      default: {
        const counter = this.counters.get(key) ?? 0;
        // Wrap well before precision is lost; the modulo keeps the rotation continuous enough.
        this.counters.set(key, counter >= Number.MAX_SAFE_INTEGER ? 0 : counter + 1);
        return counter % count;
      }
    }
  }
}
