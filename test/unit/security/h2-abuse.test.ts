/**
 * HTTP/2 abuse on the gateway port by an authenticated peer (hand-written frames): the gateway stays
 * responsive for a legitimate tunnel, releases everything it held, and closes abusive sessions.
 */
import { once } from 'node:events';
import { eventually, h2Request, h2To, tlsTo, Cleanup, type Pki } from '../dataplane/harness';
import {
  expectBackToBaseline,
  expectStillServing,
  fabric,
  fastHeaders,
  held,
  startWest,
  type Site,
} from './fixtures';
import { ERR, FLAG, FRAME, frame, hpackIndexed, hpackLiteral, hpackRef, RawH2, rstStream } from './raw-h2';

jest.setTimeout(30_000);

let pki: Pki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await fabric();
});
afterEach(() => cleanup.run());

async function rawAsNorth(site: Site): Promise<RawH2> {
  const socket = await tlsTo(site.dp, pki.certs.north, { ca: pki.ca.cert, servername: 'west', alpn: ['h2'] });
  expect(socket.alpnProtocol).toBe('h2');
  const raw = new RawH2(socket);
  cleanup.add(() => raw.destroy());
  return raw;
}

const fast = (name: string): [string, string][] => Object.entries(fastHeaders(name, 'north'));

const authzPost: [string, string][] = [
  [':method', 'POST'],
  [':scheme', 'https'],
  [':path', '/authz'],
  [':authority', 'west'],
];

describe('h2 abuse on the gateway port', () => {
  it('rapid reset: streams opened and reset at once end the session; nothing is left open', async () => {
    const site = await startWest(cleanup, pki, { limits: { keepAliveTimeoutMs: 1000 } });
    const raw = await rawAsNorth(site);
    // Half to an existing export (the gateway starts connecting to it), half to a missing one.
    for (let i = 0; i < 3000 && !raw.closed; i++) {
      const id = raw.request(fast(i % 2 === 0 ? 'svc' : 'nope'), false);
      raw.write(rstStream(id, ERR.CANCEL));
    }
    // nghttp2's reset-rate limit ends the session: GOAWAY with an error code, then the gateway
    // drops the connection by itself (the client here never closes it).
    await eventually(() => raw.goawayCode() !== undefined, 5000);
    expect(raw.goawayCode()).toBeGreaterThan(ERR.NO_ERROR);
    await eventually(() => held(site.dp).tls === 0, 10_000);
    raw.destroy();
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });

  it('the session idle timeout spares a session whose tunnel is open but quiet', async () => {
    const site = await startWest(cleanup, pki, { limits: { keepAliveTimeoutMs: 300 } });
    const east = await h2To(site.dp, pki.certs.east, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => east.destroy());
    const tunnel = await h2Request(east, fastHeaders('svc', 'east'));
    expect(tunnel.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000)); // more than three idle timeouts, no byte
    expect(east.closed || east.destroyed).toBe(false);
    tunnel.stream.end('still here');
    const chunks: Buffer[] = [];
    tunnel.stream.on('data', (c: Buffer) => chunks.push(c));
    await once(tunnel.stream, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('still here');
    // Once its last stream is gone, the idle session is closed by the gateway.
    await eventually(() => held(site.dp).sessions === 0, 5000);
  });

  it('the per-stream window that bounds what a stalled tunnel buffers is configurable', async () => {
    // A peer can fill the window of every tunnel whose export target stops reading, and the gateway
    // holds that data: about (stalled fast-path tunnels) x window. The window is what peers are told.
    const site = await startWest(cleanup, pki, { limits: { h2StreamWindowBytes: 256 * 1024 } });
    const north = await h2To(site.dp, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => north.destroy());
    await eventually(() => north.remoteSettings.initialWindowSize === 256 * 1024, 2000);
    expect((await h2Request(north, fastHeaders('svc', 'north'))).status).toBe(200);
  });

  it('more concurrent streams than the limit: the extra ones are refused, the session stays bounded', async () => {
    const site = await startWest(cleanup, pki, { limits: { h2MaxConcurrentStreams: 50 } });
    const raw = await rawAsNorth(site);
    // Wait for the server's SETTINGS to be acknowledged by us, so the limit is in force.
    await new Promise((r) => setTimeout(r, 100));
    const ids: number[] = [];
    for (let i = 0; i < 120; i++) ids.push(raw.request(authzPost, false)); // bodies never come
    await new Promise((r) => setTimeout(r, 300));
    const refused = [...raw.rstCodes().values()].filter((c) => c === ERR.REFUSED_STREAM).length;
    const goaway = raw.goawayCode();
    // Either each stream over the limit is refused, or the whole session is closed as abusive
    // (nghttp2 treats streams beyond an acknowledged limit as a connection error).
    expect(refused >= 70 || goaway !== undefined || raw.ended).toBe(true);
    expect(raw.answered().size).toBe(0); // none of the 120 was served past the limit
    raw.destroy();
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });

  it('a stream that never sends its /authz body is reset after the body timeout', async () => {
    const site = await startWest(cleanup, pki, { limits: { bodyTimeoutMs: 300 } });
    const raw = await rawAsNorth(site);
    const id = raw.request(authzPost, false);
    raw.write(frame(FRAME.DATA, 0, id, Buffer.from('{"ServiceName":')));
    await new Promise((r) => setTimeout(r, 1000));
    // Answered 408 (a literal :status, not one of the static 200/404/400) and the stream closed.
    expect(raw.answered().has(id)).toBe(true);
    expect([0x88, 0x8c, 0x8d]).not.toContain(raw.statusByte(id));
    expect(
      raw.frames.some(
        (f) => f.streamId === id && (f.type === FRAME.RST_STREAM || (f.flags & FLAG.END_STREAM) !== 0),
      ),
    ).toBe(true);
    raw.destroy();
    await expectBackToBaseline(site);
  });

  it('SETTINGS and PING floods: the session is closed or survives, and the gateway serves others', async () => {
    const site = await startWest(cleanup, pki);
    const raw = await rawAsNorth(site);
    raw.socket.pause(); // never read the ACKs: the server must not queue them without bound
    const ping = frame(FRAME.PING, 0, 0, Buffer.alloc(8));
    const settings = frame(FRAME.SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
    const memBefore = process.memoryUsage().rss;
    for (let i = 0; i < 20_000 && !raw.closed; i++) {
      if (!raw.write(i % 2 === 0 ? ping : settings)) await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.race([raw.waitClosed(), new Promise((r) => setTimeout(r, 2000))]);
    expect(raw.closed).toBe(true);
    expect(process.memoryUsage().rss - memBefore).toBeLessThan(200 * 1024 * 1024);
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });

  it('HPACK bomb: one large dynamic-table entry referenced many times is refused, the session keeps serving others', async () => {
    const site = await startWest(cleanup, pki);
    const raw = await rawAsNorth(site);
    // 4 KB entry (fits the default 4 KB table barely not; use 3.9 KB) referenced 2000 times = 8 MB decoded.
    const big = hpackIndexed('x-bomb', 'b'.repeat(3900));
    const refs = Buffer.concat(Array.from({ length: 2000 }, () => hpackRef(62)));
    const block = Buffer.concat([
      hpackLiteral(':method', 'GET'),
      hpackLiteral(':scheme', 'https'),
      hpackLiteral(':path', '/healthz'),
      hpackLiteral(':authority', 'west'),
      big,
      refs,
    ]);
    const id = raw.requestBlock(block, true);
    await new Promise((r) => setTimeout(r, 300));
    const refusedOrClosed = raw.rstCodes().has(id) || raw.goawayCode() !== undefined || raw.closed;
    expect(refusedOrClosed).toBe(true);
    expect(raw.statusByte(id)).not.toBe(0x88); // not served
    raw.destroy();
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });

  it('many small headers (over the pair limit) are refused', async () => {
    const site = await startWest(cleanup, pki);
    const north = await h2To(site.dp, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => north.destroy());
    const many: Record<string, string> = { ':method': 'GET', ':path': '/healthz' };
    for (let i = 0; i < 500; i++) many[`x-h${i}`] = 'v';
    const outcome = await h2Request(north, many).then(
      (a) => a.status,
      () => 'reset',
    );
    expect(outcome === 431 || outcome === 'reset').toBe(true);
    north.destroy();
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });

  it('invalid pseudo-headers, methods and paths are refused without harm', async () => {
    const site = await startWest(cleanup, pki);
    const raw = await rawAsNorth(site);
    const cases: [string, string][][] = [
      [[':method', 'GET']], // no :path, :scheme
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/healthz'],
        [':bogus', 'x'],
      ],
      [
        [':method', 'G E T'],
        [':scheme', 'https'],
        [':path', '/healthz'],
      ],
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', ''],
      ],
      [
        [':method', 'DELETE'],
        [':scheme', 'https'],
        [':path', '/authz'],
      ],
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/../../etc/passwd'],
      ],
      [[':method', 'CONNECT']], // CONNECT without :authority
      [
        [':method', 'CONNECT'],
        [':authority', '127.0.0.1:22'],
      ], // an address: never a target
      [
        [':method', 'CONNECT'],
        [':authority', 'svc.default'],
        [':path', '/'],
      ], // CONNECT with :path
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/healthz'],
        ['Upper-Case', 'x'],
      ],
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/healthz'],
        ['connection', 'close'],
      ],
    ];
    const ids = cases.map((c) => raw.request(c, c[0][1] !== 'CONNECT'));
    await new Promise((r) => setTimeout(r, 500));
    const rst = raw.rstCodes();
    for (const id of ids) {
      // Each is reset, or answered with a status that is not 200.
      const status = raw.statusByte(id);
      expect(rst.has(id) || (status !== undefined && status !== 0x88) || raw.goawayCode() !== undefined).toBe(
        true,
      );
    }
    expect(site.echo.accepted).toBe(0);
    raw.destroy();
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });

  it('requests for a missing export in a loop: all refused, memory and handles bounded', async () => {
    const site = await startWest(cleanup, pki);
    const north = await h2To(site.dp, pki.certs.north, { ca: pki.ca.cert, servername: 'west' });
    cleanup.add(() => north.destroy());
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => h2Request(north, fastHeaders(`nope-${round}-${i}`, 'north'))),
      );
      for (const a of answers) expect(a.status).toBe(404);
    }
    expect(held(site.dp).tunnels).toBe(0);
    north.close();
    await once(north, 'close');
    await expectBackToBaseline(site);
    await expectStillServing(site, cleanup);
  });
});
