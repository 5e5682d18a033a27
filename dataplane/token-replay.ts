/**
 * Memory of the access tokens a gateway process has accepted, so that each token opens at most one
 * tunnel. A token is remembered by its nonce until its own expiry: after that, verification refuses
 * it anyway, so forgetting it is safe. Pure: time is passed in, nothing runs on a timer.
 *
 * Entries are kept in a min-heap by expiry and dropped lazily on each use, so the cost is
 * O(log n) per token whatever order expiries arrive in (another replica's clock may be ahead).
 * Replicas of a site do not share this memory; a token replayed at another replica is still
 * bound to its peer and its 5 s lifetime.
 */

export const DEFAULT_MAX_REMEMBERED_TOKENS = 100_000;

/** `first`: accepted and now remembered; `replayed`: seen before; `full`: cannot be remembered. */
export type TokenUse = 'first' | 'replayed' | 'full';

interface Remembered {
  readonly nonce: string;
  readonly expiresAt: number;
}

export class TokenReplayCache {
  private readonly expiryOf = new Map<string, number>();
  /** Min-heap on expiresAt, the order in which entries are forgotten. */
  private readonly heap: Remembered[] = [];

  constructor(private readonly maxEntries: number = DEFAULT_MAX_REMEMBERED_TOKENS) {}

  get size(): number {
    return this.expiryOf.size;
  }

  /**
   * Records the first use of a token. When the memory is full the token is refused ('full')
   * rather than an unexpired entry forgotten: forgetting would let that token be replayed, while a
   * refusal only costs the peer a new token, and the memory frees itself within a token lifetime.
   */
  use(nonce: string, expiresAt: number, now: number): TokenUse {
    this.forgetExpired(now);
    if (this.expiryOf.has(nonce)) return 'replayed';
    if (this.expiryOf.size >= this.maxEntries) return 'full';
    this.expiryOf.set(nonce, expiresAt);
    this.push({ nonce, expiresAt });
    return 'first';
  }

  private forgetExpired(now: number): void {
    while (this.heap.length > 0 && this.heap[0].expiresAt <= now) {
      this.expiryOf.delete(this.pop().nonce);
    }
  }

  private push(entry: Remembered): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].expiresAt <= heap[i].expiresAt) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  private pop(): Remembered {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as Remembered;
    if (heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left].expiresAt < heap[smallest].expiresAt) smallest = left;
      if (right < heap.length && heap[right].expiresAt < heap[smallest].expiresAt) smallest = right;
      if (smallest === i) return top;
      [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
      i = smallest;
    }
  }
}
