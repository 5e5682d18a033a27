/**
 * Versions snapshot contents and hands them to subscribers (a SnapshotSource). A new version is
 * published only when the content changed. Versions come from the wall clock (and always grow
 * within a process), so a data plane that switches to a restarted or another control-plane replica
 * does not see the version go backwards.
 */
import type { GatewaySnapshot, SnapshotSource } from '../api/snapshot';
import type { SnapshotContent } from './builder';

export class SnapshotPublisher implements SnapshotSource {
  private current: GatewaySnapshot | undefined;
  private currentJson = '';
  private readonly listeners = new Set<(s: GatewaySnapshot) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  get snapshot(): GatewaySnapshot | undefined {
    return this.current;
  }

  /** Publishes `content` if it differs from the current snapshot; returns the current snapshot. */
  publish(content: SnapshotContent): GatewaySnapshot {
    const json = JSON.stringify(content);
    if (this.current && json === this.currentJson) return this.current;
    const version = Math.max((this.current?.version ?? 0) + 1, this.now());
    this.current = Object.freeze({ ...content, version }) as GatewaySnapshot;
    this.currentJson = json;
    for (const l of [...this.listeners]) {
      try {
        l(this.current);
      } catch {
        // a subscriber's failure is its own
      }
    }
    return this.current;
  }

  subscribe(listener: (snapshot: GatewaySnapshot) => void): () => void {
    this.listeners.add(listener);
    if (this.current) listener(this.current);
    return () => this.listeners.delete(listener);
  }
}
