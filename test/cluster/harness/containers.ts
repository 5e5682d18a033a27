/**
 * What a node's containerd leaves behind when it is stopped: container processes (their shims
 * outlive containerd by design), mounts (container root filesystems, the kubelet's Secret and
 * token volumes) and Pod network namespaces. Removed here so that a stopped test site leaves the
 * machine as it found it, also after a crashed run.
 */
import * as fs from 'node:fs';
import { run } from '../../harness/procs';

interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly cmdline: string[];
}

function readProcs(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      entries.push({ pid: Number(name), ppid: Number(fields[1]), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return entries;
}

/** Process ids of the containerd shims serving the containerd at `socket`, and all they started. */
export function containerProcesses(socket: string): { shims: number[]; descendants: number[] } {
  const procs = readProcs();
  const shims = procs
    .filter((p) => /containerd-shim/.test(p.cmdline[0] ?? '') && p.cmdline.includes(socket))
    .map((p) => p.pid);
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const descendants: number[] = [];
  const stack = [...shims];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      descendants.push(child);
      stack.push(child);
    }
  }
  return { shims, descendants };
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** SIGKILLs every container and shim of the containerd at `socket`. */
export function killContainers(socket: string): number {
  const { shims, descendants } = containerProcesses(socket);
  for (const pid of descendants) kill(pid);
  for (const pid of shims) kill(pid);
  return shims.length + descendants.length;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what earlier runs left when their test process died: their world folders are named
 * `<prefix><pid>-...`; containers whose containerd socket lies in the folder of a dead pid are
 * killed, then the folder is unmounted and deleted. Returns the folders removed.
 */
export async function removeStaleRuns(tmpDir: string, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of fs.readdirSync(tmpDir)) {
    const match = new RegExp(`^${prefix}(\\d+)-`).exec(entry);
    if (!match || Number(match[1]) === process.pid || alive(Number(match[1]))) continue;
    const dir = `${tmpDir}/${entry}`;
    for (const proc of readProcs()) {
      const address = proc.cmdline[proc.cmdline.indexOf('-address') + 1];
      if (/containerd-shim/.test(proc.cmdline[0] ?? '') && address?.startsWith(`${dir}/`))
        killContainers(address);
    }
    await unmountBelow(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Lazily unmounts everything mounted at or below `dir`, deepest first. */
export async function unmountBelow(dir: string): Promise<void> {
  const mountPoints = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .map((point) => point.replace(/\\040/g, ' '));
  for (const point of [...new Set(mountPoints)].sort((a, b) => b.length - a.length)) {
    await run('umount', ['-l', point], { timeoutMs: 10_000 });
  }
}

/** Deletes `cni-*` network namespaces (made by containerd for Pods) that no process uses any more. */
export async function removeUnusedPodNetns(): Promise<void> {
  const list = await run('ip', ['netns', 'list'], { timeoutMs: 10_000 });
  for (const name of list.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0])) {
    if (!name?.startsWith('cni-')) continue;
    const pids = await run('ip', ['netns', 'pids', name], { timeoutMs: 10_000 });
    if (pids.stdout.trim() === '') await run('ip', ['netns', 'del', name], { timeoutMs: 10_000 });
  }
}
