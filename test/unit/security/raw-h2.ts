/**
 * A minimal HTTP/2 client that writes frames by hand over a TLS socket, so tests can do what a
 * well-behaved client library refuses to do: open more streams than the server allows, reset streams
 * at once, flood SETTINGS or PING, send invalid pseudo-headers. Only what the tests read is decoded
 * (frame types, stream ids, error codes); header blocks are sent as HPACK literals without indexing.
 */
import type { TLSSocket } from 'node:tls';

export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 };

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

function hpackInteger(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const bytes = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** HPACK "literal header field without indexing, new name", no Huffman coding. */
export function hpackLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([
    Buffer.from([0x00]),
    hpackInteger(n.length, 7, 0),
    n,
    hpackInteger(v.length, 7, 0),
    v,
  ]);
}

/** HPACK "literal with incremental indexing, new name": adds the entry to the server's dynamic table. */
export function hpackIndexed(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([
    Buffer.from([0x40]),
    hpackInteger(n.length, 7, 0),
    n,
    hpackInteger(v.length, 7, 0),
    v,
  ]);
}

/** HPACK reference to a dynamic-table entry (index 62 = the most recently added one). */
export function hpackRef(index: number): Buffer {
  return hpackInteger(index, 7, 0x80);
}

export function headerBlock(headers: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(headers.map(([k, v]) => hpackLiteral(k, v)));
}

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function rstStream(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

/** Drives one connection: sends the preface and empty SETTINGS, acknowledges the server's SETTINGS. */
export class RawH2 {
  readonly frames: Frame[] = [];
  private buffered = Buffer.alloc(0);
  closed = false;
  /** The server ended its side (FIN), whether or not the socket is closed yet. */
  ended = false;
  private readonly closedPromise: Promise<void>;
  private nextStreamId = 1;

  constructor(readonly socket: TLSSocket) {
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.once('end', () => (this.ended = true));
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      const f: Frame = {
        type: this.buffered[3],
        flags: this.buffered[4],
        streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffered.subarray(9, 9 + length),
      };
      this.buffered = this.buffered.subarray(9 + length);
      // Keep only what tests look at (not DATA), so a long test does not hoard memory.
      if (f.type !== FRAME.DATA) this.frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0 && !this.socket.destroyed) {
        this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      }
    }
  }

  /** Opens a stream with the given headers; returns its id. */
  request(headers: readonly (readonly [string, string])[], endStream: boolean): number {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const flags = FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0);
    this.write(frame(FRAME.HEADERS, flags, id, headerBlock(headers)));
    return id;
  }

  /** A raw header block on a new stream (HPACK already encoded by the caller). */
  requestBlock(block: Buffer, endStream: boolean): number {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), id, block));
    return id;
  }

  write(data: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  goaway(): Frame | undefined {
    return this.frames.find((f) => f.type === FRAME.GOAWAY);
  }

  /** Error code of the GOAWAY the server sent, if any. */
  goawayCode(): number | undefined {
    const g = this.goaway();
    return g ? g.payload.readUInt32BE(4) : undefined;
  }

  rstCodes(): Map<number, number> {
    const m = new Map<number, number>();
    for (const f of this.frames)
      if (f.type === FRAME.RST_STREAM) m.set(f.streamId, f.payload.readUInt32BE(0));
    return m;
  }

  /** Streams the server answered with a HEADERS frame. */
  answered(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FRAME.HEADERS).map((f) => f.streamId));
  }

  /** First byte of the HEADERS block of a stream: 0x88 = :status 200, 0x8c = 400, 0x8d = 404 (static table). */
  statusByte(streamId: number): number | undefined {
    return this.frames.find((f) => f.type === FRAME.HEADERS && f.streamId === streamId)?.payload[0];
  }

  waitClosed(): Promise<void> {
    return this.closedPromise;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
