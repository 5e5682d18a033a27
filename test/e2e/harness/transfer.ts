/**
 * A hash-sink transfer (probe.js `hash`) run as a managed process, so a scenario can act on what
 * the transfer has done (bytes written into the tunnel) rather than after a guessed delay, and
 * stop it in its cleanup. Transfers still running when a scenario ran out of time are ended by
 * the scenario runner (stopTransfers), so the scenario's own cleanup runs before the next one.
 */
import { PROBE_SCRIPT, type HashResult } from '../../harness/backends';
import type { SiteNetwork } from '../../harness/netns';
import { spawnManaged, type ManagedProcess } from '../../harness/procs';

export interface TransferOptions {
  /** Pacing in bytes per second (backpressure applies in any case). */
  readonly rateBytesPerSecond?: number;
  readonly localAddress?: string;
  /** The probe reports progress every this many bytes. @default 1 MiB */
  readonly progressEvery?: number;
  /** The probe is killed after this long and the result is a failure. @default 120000 */
  readonly timeoutMs?: number;
}

export interface Transfer {
  readonly bytes: number;
  /** Bytes written into the connection so far (as last reported). */
  readonly written: number;
  /** Resolves once `bytes` have been written; rejects if the transfer ends first or on timeout. */
  whenWritten(bytes: number, timeoutMs?: number): Promise<void>;
  /** The probe's verdict; never rejects (a killed or timed-out probe is `ok: false`). */
  readonly result: Promise<HashResult & { readonly endedAt: number }>;
  /** Ends the transfer now (idempotent). */
  stop(): Promise<void>;
}

const running = new Set<ManagedProcess>();

/** Kills every transfer still running (a scenario ran out of time); returns how many. */
export async function stopTransfers(): Promise<number> {
  const all = [...running];
  await Promise.all(all.map((p) => p.kill()));
  return all.length;
}

export function startTransfer(
  site: SiteNetwork,
  host: string,
  port: number,
  bytes: number,
  options: TransferOptions = {},
): Transfer {
  const args = [PROBE_SCRIPT, 'hash', '--host', host, '--port', String(port), '--bytes', String(bytes)];
  args.push('--progress', String(options.progressEvery ?? 1024 * 1024));
  if (options.localAddress) args.push('--local', options.localAddress);
  if (options.rateBytesPerSecond) args.push('--rate', String(options.rateBytesPerSecond));
  const proc = spawnManaged('node', args, { name: `${site.site}/transfer-${port}`, netns: site.netns });
  running.add(proc);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const lines = () =>
    proc
      .output()
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const written = () => Math.max(0, ...lines().map((l) => (typeof l.progress === 'number' ? l.progress : 0)));
  const result = proc.finished.then((status) => {
    clearTimeout(timer);
    running.delete(proc);
    const endedAt = Date.now();
    const verdict = lines()
      .reverse()
      .find((l) => 'ok' in l) as HashResult | undefined;
    if (verdict) return { ...verdict, endedAt };
    const why = status.signal ? `killed (${status.signal}) after ${timeoutMs} ms or by cleanup` : 'no result';
    return { ok: false, sentBytes: written(), error: why, ms: 0, endedAt };
  });
  return {
    bytes,
    get written() {
      return written();
    },
    async whenWritten(target, waitMs = timeoutMs) {
      const deadline = Date.now() + waitMs;
      while (written() < target) {
        if (!proc.running) {
          const r = await result;
          throw new Error(`transfer ended after ${written()} of ${target} bytes: ${r.error ?? 'closed'}`);
        }
        if (Date.now() > deadline)
          throw new Error(`transfer wrote ${written()} of ${target} bytes in ${waitMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    result,
    async stop() {
      await proc.kill();
      await result;
    },
  };
}

/**
 * What `proc` writes from now on: `seen(pattern)` polls for a line written after this call, so a
 * scenario can wait for a process to report something (a lost watch, a peer verdict) instead of
 * sleeping. The process keeps a 64 KiB tail; the mark is found again by its last bytes.
 */
export function outputFrom(proc: ManagedProcess): { text(): string; seen(pattern: RegExp): boolean } {
  const before = proc.output();
  const anchor = before.slice(-256);
  const text = () => {
    const now = proc.output();
    if (anchor.length === 0) return now;
    const at = now.lastIndexOf(anchor);
    return at < 0 ? now : now.slice(at + anchor.length);
  };
  return { text, seen: (pattern) => pattern.test(text()) };
}
