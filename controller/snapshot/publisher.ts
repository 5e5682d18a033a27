/**
 * Versions snapshot contents and hands them to subscribers (a SnapshotSource). A new version is
 * published only when the content changed. Every snapshot carries this publisher's random origin:
 * versions are ordered within one origin only, so a data plane that switches to another replica or
 * to a restarted process takes its snapshots whatever their versions (its clock may be behind).
 * Versions start from the wall clock and always grow within the origin.
 */
import { randomBytes } from 'node:crypto';
import type { GatewaySnapshot, SnapshotSource } from '../../kernel/api/snapshot';
import type { SnapshotContent } from './builder';
import { SNAPSHOT_ORIGIN } from './wire';

export interface SnapshotPublisherOptions {
  /** @default Date.now */
  readonly now?: () => number;
  /** @default 16 random bytes, base64url (tests may fix it) */
  readonly origin?: string;
}

/** A fresh origin: unique per publisher without coordination between replicas. */
export function newSnapshotOrigin(): string {
  return randomBytes(16).toString('base64url');
}

export class SnapshotPublisher implements SnapshotSource {
  private current: GatewaySnapshot | undefined;
  private currentJson = '';
  private readonly listeners = new Set<(s: GatewaySnapshot) => void>();

  readonly origin: string;
  private readonly now: () => number;

  constructor(options: SnapshotPublisherOptions = {}) {
    this.now = options.now ?? Date.now;
    this.origin = options.origin ?? newSnapshotOrigin();
    if (!SNAPSHOT_ORIGIN.test(this.origin)) throw new Error(`snapshot origin "${this.origin}" is malformed`);
  }

  get snapshot(): GatewaySnapshot | undefined {
    return this.current;
  }

  /** Publishes `content` if it differs from the current snapshot; returns the current snapshot. */
  publish(content: SnapshotContent): GatewaySnapshot {
    const json = JSON.stringify(content);
    if (this.current && json === this.currentJson) return this.current;
    const version = Math.max((this.current?.version ?? 0) + 1, this.now());
    this.current = Object.freeze({ ...content, version, origin: this.origin }) as GatewaySnapshot;
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
