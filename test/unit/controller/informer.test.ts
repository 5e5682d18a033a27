/**
 * The informer's state machine against a scripted HTTP server speaking the list/watch protocol.
 * (The real API server cannot be made to answer 410 Gone or fail on demand; the integration tests
 * run the informer against it for everything else.)
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../controller/k8s/client';
import { Informer } from '../../../controller/k8s/informer';
import type { KubeObject } from '../../../controller/k8s/object';
import { Resources } from '../../../controller/k8s/resources';

jest.setTimeout(20_000);

type Step = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const obj = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});
const list =
  (rv: string, ...items: KubeObject[]): Step =>
  (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ metadata: { resourceVersion: rv }, items }));
  };
const watchEvents =
  (events: object[], keepOpen = false): Step =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (const e of events) res.write(JSON.stringify(e) + '\n');
    if (!keepOpen) res.end();
  };
const status =
  (code: number): Step =>
  (_req, res) => {
    res
      .writeHead(code, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'Status', code, reason: 'X', message: 'scripted' }));
  };

let server: http.Server;
let informer: Informer<KubeObject> | undefined;
let client: KubeClient | undefined;
const requests: string[] = [];

async function serve(lists: Step[], watches: Step[]) {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const isWatch = url.searchParams.get('watch') === 'true';
    requests.push(`${isWatch ? 'watch' : 'list'} rv=${url.searchParams.get('resourceVersion') ?? ''}`);
    const step = (isWatch ? watches : lists).shift();
    if (step) step(req, res);
    else if (isWatch)
      res.writeHead(200); // hang: an idle watch
    else list('999')(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  client = new KubeClient(kc);
}

afterEach(async () => {
  await informer?.stop();
  client?.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  requests.length = 0;
});

function record(inf: Informer<KubeObject>) {
  const events: string[] = [];
  inf.on('add', (o) => events.push(`add ${o.metadata!.name}`));
  inf.on('update', (o, old) => {
    if (o !== old) events.push(`update ${o.metadata!.name}`);
  });
  inf.on('delete', (o) => events.push(`delete ${o.metadata!.name}`));
  return events;
}

async function until(predicate: () => boolean) {
  while (!predicate()) await new Promise((r) => setTimeout(r, 10));
}

describe('Informer', () => {
  it('lists, then watches from the list resourceVersion, applying events to the cache', async () => {
    await serve(
      [list('10', obj('a', '5'), obj('b', '6'))],
      [
        watchEvents(
          [
            { type: 'ADDED', object: obj('c', '11') },
            { type: 'MODIFIED', object: obj('a', '12') },
            { type: 'DELETED', object: obj('b', '13') },
            { type: 'BOOKMARK', object: { metadata: { resourceVersion: '14' } } },
          ],
          true,
        ),
      ],
    );
    informer = new Informer(client!, Resources.service, { resyncMs: 0 });
    const events = record(informer);
    informer.start();
    await informer.waitForSync();
    await until(() => events.length === 5);
    expect(events).toEqual(['add a', 'add b', 'add c', 'update a', 'delete b']);
    expect(requests.slice(0, 2)).toEqual(['list rv=', 'watch rv=10']);
    expect(
      informer
        .list()
        .map((o) => o.metadata!.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(informer.get('ns/a')?.metadata?.resourceVersion).toBe('12');
  });

  it('relists at once on 410 Gone and emits what changed meanwhile', async () => {
    await serve(
      [list('10', obj('a', '5'), obj('b', '6')), list('20', obj('a', '15'), obj('d', '19'))],
      [
        watchEvents([
          { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } },
        ]),
      ],
    );
    informer = new Informer(client!, Resources.service, {
      resyncMs: 0,
      backoff: { initialMs: 5000, maxMs: 5000 },
    });
    const events = record(informer);
    informer.start();
    await until(() => requests.includes('watch rv=20'));
    expect(requests.slice(0, 4)).toEqual(['list rv=', 'watch rv=10', 'list rv=', 'watch rv=20']);
    expect(events).toEqual(['add a', 'add b', 'update a', 'add d', 'delete b']);
    expect(informer.restarts).toBe(0); // not an error: no backoff
    expect(informer.lists).toBe(2);
  });

  it('restarts with backoff after errors instead of stopping for good', async () => {
    await serve(
      [status(500), status(503), list('10', obj('a', '5')), list('11', obj('a', '5'))],
      [status(500)],
    );
    informer = new Informer(client!, Resources.service, {
      resyncMs: 0,
      backoff: { initialMs: 20, maxMs: 50 },
    });
    const events = record(informer);
    informer.start();
    await informer.waitForSync();
    await until(() => requests.filter((r) => r.startsWith('watch')).length >= 2);
    expect(informer.restarts).toBe(3);
    expect(events).toEqual(['add a']);
    expect(informer.hasSynced()).toBe(true);
  });

  it('treats a watch that closes at once as a failure (no hot loop)', async () => {
    await serve([list('10')], [watchEvents([]), watchEvents([])]);
    informer = new Informer(client!, Resources.service, {
      resyncMs: 0,
      backoff: { initialMs: 300, maxMs: 300, jitter: 0 },
    });
    informer.start();
    await until(() => informer!.restarts >= 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(informer.restarts).toBe(1);
    expect(requests.length).toBe(2);
  });

  it('abandons a watch that outlives its timeout (a dead connection) and watches again', async () => {
    // The scripted server never answers the first watch with anything, nor closes it.
    await serve([list('10', obj('a', '5'))], [(_req, res) => res.writeHead(200)]);
    informer = new Informer(client!, Resources.service, {
      resyncMs: 0,
      watchTimeoutSeconds: 1,
      deadWatchSlackMs: 100,
    });
    informer.start();
    await until(() => requests.filter((r) => r === 'watch rv=10').length >= 2);
    expect(requests.slice(0, 3)).toEqual(['list rv=', 'watch rv=10', 'watch rv=10']);
    expect(informer.restarts).toBe(0);
  });

  it('resyncs: replays every cached object to the update handlers', async () => {
    await serve([list('10', obj('a', '5'))], []);
    informer = new Informer(client!, Resources.service, { resyncMs: 50 });
    const replays: string[] = [];
    informer.on('update', (o, old) => {
      if (o === old) replays.push(o.metadata!.name!);
    });
    informer.start();
    await until(() => replays.length >= 2);
    expect(replays.slice(0, 2)).toEqual(['a', 'a']);
  });

  it('keeps serving the other handlers when one throws', async () => {
    await serve([list('10', obj('a', '5'))], []);
    informer = new Informer(client!, Resources.service, { resyncMs: 0 });
    const seen: string[] = [];
    informer.on('add', () => {
      throw new Error('handler bug');
    });
    informer.on('add', (o) => seen.push(o.metadata!.name!));
    informer.start();
    await informer.waitForSync();
    expect(seen).toEqual(['a']);
    expect(informer.get('ns/a')).toBeDefined();
  });
});
