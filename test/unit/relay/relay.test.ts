import { once } from 'node:events';
import { constants as h2 } from 'node:http2';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { relay, startRelay } from '../../../dataplane/relay';
import {
  firstEnding,
  h2Session,
  receiveAll,
  Resources,
  sendRandom,
  tcpPair,
  tlsPair,
  type Pair,
} from './harness';

jest.setTimeout(60_000);

const res = new Resources();
afterEach(() => res.closeAll());

type Kind = 'tcp' | 'tls' | 'h2';

/** A pair of the given transport; for h2, left is the client stream and right the server stream. */
async function pairOf(kind: Kind): Promise<Pair> {
  if (kind === 'tcp') return tcpPair(res);
  if (kind === 'tls') return tlsPair(res);
  return (await h2Session(res)).streamPair();
}

/**
 * client ==kind== [a relay b] --tcp-- service. The relay runs between the far end of the client's
 * transport and a TCP connection to the service, as an import listener or an export side does.
 */
async function topology(kind: Kind, options: Parameters<typeof relay>[2] = {}) {
  const front = await pairOf(kind);
  const back = await tcpPair(res);
  const { done, cancel } = startRelay(front.right, back.left, options);
  return { client: front.left, a: front.right, b: back.left, service: back.right, back, done, cancel, front };
}

/** Polls `value` until it stops growing for `stillMs` (bounded by `maxMs`). */
async function whenStalled(value: () => number, stillMs = 300, maxMs = 20_000): Promise<number> {
  const step = 50;
  let last = -1;
  let still = 0;
  for (let t = 0; t < maxMs; t += step) {
    await new Promise((r) => setTimeout(r, step));
    const v = value();
    still = v === last ? still + step : 0;
    last = v;
    if (still >= stillMs) return v;
  }
  throw new Error('writer never stalled');
}

function connectionCount(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

const MB = 1024 * 1024;

describe.each<Kind>(['tcp', 'tls', 'h2'])('relay with a %s client side', (kind) => {
  it('carries large random payloads intact both ways at once', async () => {
    const t = await topology(kind);
    const up = sendRandom(t.client, 24 * MB + 123);
    const down = sendRandom(t.service, 16 * MB + 7);
    const [atService, atClient] = await Promise.all([receiveAll(t.service), receiveAll(t.client)]);
    expect(atService).toEqual({ sha256: await up.sha256, bytes: 24 * MB + 123 });
    expect(atClient).toEqual({ sha256: await down.sha256, bytes: 16 * MB + 7 });
    const stats = await t.done;
    expect(stats).toMatchObject({ end: 'complete', bytesAtoB: 24 * MB + 123, bytesBtoA: 16 * MB + 7 });
    expect(t.a.destroyed && t.b.destroyed).toBe(true);
    expect(await connectionCount(t.back.server)).toBe(0);
  });

  it('propagates half-close: the reply flows after the request side ended', async () => {
    const t = await topology(kind);
    const up = sendRandom(t.client, 4 * MB); // ends the client's write half when done
    const atService = await receiveAll(t.service); // resolves only on the service seeing the end
    expect(atService.sha256).toBe(await up.sha256);
    // The service answers only now, over the half-open tunnel.
    const down = sendRandom(t.service, 8 * MB);
    const atClient = await receiveAll(t.client);
    expect(atClient).toEqual({ sha256: await down.sha256, bytes: 8 * MB });
    expect((await t.done).end).toBe('complete');
  });

  it('holds the writer back while the service does not read, then delivers everything', async () => {
    const t = await topology(kind);
    const total = 160 * MB;
    const up = sendRandom(t.client, total);
    const accepted = await whenStalled(up.written);
    // The writer stalled well short of the total: only socket buffers and bounded stream buffers
    // hold data, the relay's own share is within the streams' highWaterMarks.
    expect(accepted).toBeLessThan(total / 2);
    const heldByRelay = t.a.readableLength + t.b.writableLength;
    expect(heldByRelay).toBeLessThanOrEqual(t.a.readableHighWaterMark + t.b.writableHighWaterMark + MB);
    const atService = await receiveAll(t.service);
    expect(atService).toEqual({ sha256: await up.sha256, bytes: total });
    t.service.end();
    expect(await t.done).toMatchObject({ end: 'complete', bytesAtoB: total });
  });

  it('holds the service back while the client does not read', async () => {
    const t = await topology(kind);
    const total = 160 * MB;
    const down = sendRandom(t.service, total);
    const accepted = await whenStalled(down.written);
    expect(accepted).toBeLessThan(total / 2);
    const atClient = await receiveAll(t.client);
    expect(atClient).toEqual({ sha256: await down.sha256, bytes: total });
    t.client.end();
    expect(await t.done).toMatchObject({ end: 'complete', bytesBtoA: total });
  });
});

describe('relay resets', () => {
  it('a TCP reset by the client resets the service connection', async () => {
    const t = await topology('tcp');
    t.client.write('hello');
    await once(t.service, 'readable');
    const ending = firstEnding(t.service);
    (t.client as net.Socket).resetAndDestroy();
    expect(await ending).toMatchObject({ code: 'ECONNRESET' });
    const stats = await t.done;
    expect(stats).toMatchObject({ failedSide: 'a' });
    expect(['error', 'aborted']).toContain(stats.end);
    expect(await connectionCount(t.back.server)).toBe(0);
  });

  it('an h2 stream cancelled by the client resets the service connection', async () => {
    const t = await topology('h2');
    t.client.write('hello');
    await once(t.service, 'readable');
    const ending = firstEnding(t.service);
    t.front.cancelLeft!();
    expect(await ending).toMatchObject({ code: 'ECONNRESET' });
    expect(await t.done).toMatchObject({ end: 'aborted', failedSide: 'a' });
  });

  it('a service reset cancels the h2 stream (RST_STREAM), not a clean end', async () => {
    const t = await topology('h2');
    t.service.write('hi');
    await once(t.client, 'readable');
    let endSeen = false;
    t.client.on('aborted', () => (endSeen = t.client.readableEnded));
    const closed = once(t.client, 'close');
    (t.service as net.Socket).resetAndDestroy();
    await closed;
    expect((t.client as unknown as { rstCode: number }).rstCode).toBe(h2.NGHTTP2_CANCEL);
    expect(endSeen).toBe(false); // no END_STREAM before the RST_STREAM
    const stats = await t.done;
    expect(stats.failedSide).toBe('b');
  });

  it('a service reset on a TLS tunnel ends the client side and releases both relay sides', async () => {
    // TLS sockets cannot send a RST from Node: the client sees the connection end (without
    // close_notify), never more data, and the relay reports the service side as the failed one.
    const t = await topology('tls');
    t.service.write('hi');
    await once(t.client, 'readable');
    const ending = firstEnding(t.client);
    (t.service as net.Socket).resetAndDestroy();
    const end = await ending;
    expect(end === 'end' || end === 'close' || (end as NodeJS.ErrnoException).code !== undefined).toBe(true);
    const stats = await t.done;
    expect(stats.failedSide).toBe('b');
    expect(t.a.destroyed && t.b.destroyed).toBe(true);
  });
});

describe('relay lifecycle', () => {
  it('resets both sides after the idle timeout', async () => {
    const t = await topology('tcp', { idleTimeoutMs: 200 });
    t.client.write('ping');
    await once(t.service, 'readable');
    const clientEnding = firstEnding(t.client);
    const serviceEnding = firstEnding(t.service);
    const stats = await t.done;
    expect(stats).toMatchObject({ end: 'idle-timeout', bytesAtoB: 4, bytesBtoA: 0 });
    expect(stats.durationMs).toBeGreaterThanOrEqual(200);
    expect(await clientEnding).toMatchObject({ code: 'ECONNRESET' });
    expect(await serviceEnding).toMatchObject({ code: 'ECONNRESET' });
  });

  it('keeps a busy tunnel past the idle timeout', async () => {
    const t = await topology('tcp', { idleTimeoutMs: 150 });
    // Trickle for three idle periods: one byte every 50 ms.
    for (let i = 0; i < 9; i++) {
      t.client.write('x');
      await new Promise((r) => setTimeout(r, 50));
    }
    t.client.end();
    t.service.resume();
    await once(t.service, 'end');
    t.service.end();
    expect(await t.done).toMatchObject({ end: 'complete', bytesAtoB: 9 });
  });

  it('cancels through its handle and reports it', async () => {
    const t = await topology('h2');
    const ending = firstEnding(t.service);
    t.cancel(new Error('shutting down'));
    const stats = await t.done;
    expect(stats.end).toBe('cancelled');
    expect(stats.error?.message).toBe('shutting down');
    expect(await ending).toMatchObject({ code: 'ECONNRESET' });
    expect(t.a.destroyed && t.b.destroyed).toBe(true);
  });

  it('settles at once for a side that was already closed, releasing the other', async () => {
    const front = await tcpPair(res);
    const back = await tcpPair(res);
    front.right.destroy();
    await once(front.right, 'close');
    const stats = await relay(front.right, back.left as Duplex);
    expect(stats).toMatchObject({ end: 'aborted', failedSide: 'a' });
    expect(back.left.destroyed).toBe(true);
  });

  it('relays h2 stream to h2 stream (both ends of a two-hop tunnel)', async () => {
    const session = await h2Session(res);
    const front = await session.streamPair();
    const back = await session.streamPair();
    const done = relay(front.right, back.left);
    const up = sendRandom(front.left, 12 * MB);
    const down = sendRandom(back.right, 12 * MB);
    const [there, here] = await Promise.all([receiveAll(back.right), receiveAll(front.left)]);
    expect(there.sha256).toBe(await up.sha256);
    expect(here.sha256).toBe(await down.sha256);
    expect(await done).toMatchObject({ end: 'complete', bytesAtoB: 12 * MB, bytesBtoA: 12 * MB });
  });
});
