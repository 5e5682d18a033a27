import { mkdirSync, mkdtempSync, rmSync, writeFileSync, unlinkSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DirectoryWatcher } from '../../../controller/standalone/watch';
import { isConfigFile } from '../../../controller/standalone/load';

/** Resolves on the next change notification. */
function changes() {
  let count = 0;
  let waiter: (() => void) | undefined;
  return {
    onChange: () => {
      count++;
      waiter?.();
    },
    next: () => new Promise<void>((resolve) => (waiter = resolve)),
    get count() {
      return count;
    },
  };
}

describe('DirectoryWatcher', () => {
  let dir: string;
  let watcher: DirectoryWatcher | undefined;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'cl-watch-'))));
  afterEach(() => {
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a burst of edits once, through fs.watch', async () => {
    const c = changes();
    watcher = new DirectoryWatcher(dir, c.onChange, {
      debounceMs: 100,
      rescanMs: 60_000,
      filter: isConfigFile,
    });
    await watcher.start();
    const next = c.next();
    writeFileSync(path.join(dir, 'a.yaml'), 'a: 1');
    writeFileSync(path.join(dir, 'a.yaml'), 'a: 2');
    writeFileSync(path.join(dir, 'b.yaml'), 'b: 1');
    await next;
    expect(c.count).toBe(1);
  });

  it('notices a file replaced by rename (editor save) and a removal', async () => {
    const c = changes();
    writeFileSync(path.join(dir, 'a.yaml'), 'a: 1');
    watcher = new DirectoryWatcher(dir, c.onChange, {
      debounceMs: 50,
      rescanMs: 60_000,
      filter: isConfigFile,
    });
    await watcher.start();
    let next = c.next();
    writeFileSync(path.join(dir, '.a.yaml.tmp'), 'a: 2');
    renameSync(path.join(dir, '.a.yaml.tmp'), path.join(dir, 'a.yaml'));
    await next;
    next = c.next();
    unlinkSync(path.join(dir, 'a.yaml'));
    await next;
    expect(c.count).toBe(2);
  });

  it('finds changes by periodic rescan alone, and ignores files the filter rejects', async () => {
    const c = changes();
    watcher = new DirectoryWatcher(dir, c.onChange, { fsEvents: false, rescanMs: 50, filter: isConfigFile });
    await watcher.start();
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const next = c.next();
    // A later change to a config file is what wakes us; the ignored file must not have counted.
    setTimeout(() => writeFileSync(path.join(dir, 'c.yml'), 'c: 1'), 200);
    await next;
    expect(c.count).toBe(1);
  });

  it('keeps rescanning when the directory disappears and comes back', async () => {
    const c = changes();
    const errors: Error[] = [];
    writeFileSync(path.join(dir, 'a.yaml'), 'a: 1');
    watcher = new DirectoryWatcher(dir, c.onChange, {
      debounceMs: 50,
      rescanMs: 50,
      filter: isConfigFile,
      onError: (e) => errors.push(e),
    });
    await watcher.start();
    let next = c.next();
    rmSync(dir, { recursive: true, force: true });
    await next;
    next = c.next();
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.yaml'), 'a: 1');
    await next;
    expect(errors.length).toBeGreaterThan(0);
  });
});
