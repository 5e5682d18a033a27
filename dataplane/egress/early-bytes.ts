/**
 * The client's first bytes, read while its tunnel is being opened.
 *
 * An import client usually speaks first (a request, a PING, a TLS ClientHello). Rather than leave
 * those bytes in the socket until the remote gateway accepted the tunnel, they are read at once and
 * sent on the tunnel request itself (h2: DATA frames right behind the CONNECT HEADERS, before the
 * answer). The remote holds them in the stream until it has connected to the export, then relays
 * them first: the client's first round trip saves one gateway-to-gateway round trip.
 *
 * Failover stays invisible to the client: every byte read is also kept here until a tunnel is
 * accepted, so when a source refuses or fails, the next source receives the same bytes from the
 * start. At most `limit` bytes are read ahead; past that the client socket is paused until a tunnel
 * is open (backpressure, no unbounded buffering).
 */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { EarlyBytesSink } from '../client/h2-tunnel';

export class EarlyBytes implements EarlyBytesSink {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private sink: Writable | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.limit) this.socket.pause();
    this.sink?.write(chunk);
  };

  constructor(
    private readonly socket: Socket,
    private readonly limit: number,
  ) {
    // Import sockets start paused (pauseOnConnect); this starts reading.
    socket.on('data', this.onData);
    socket.resume();
  }

  attach(stream: Writable): void {
    this.sink = stream;
    for (const chunk of this.chunks) stream.write(chunk);
  }

  detach(stream: Writable): void {
    if (this.sink === stream) this.sink = undefined;
  }

  /**
   * Stops reading ahead and makes sure `tunnel` has every byte read so far (written now unless the
   * connector already sent them on the request). The socket is left paused with any later bytes
   * in its buffer, for the relay. Returns the number of bytes already handed to the tunnel.
   */
  handOver(tunnel: Writable): number {
    this.socket.off('data', this.onData);
    this.socket.pause();
    if (this.sink !== tunnel) for (const chunk of this.chunks) tunnel.write(chunk);
    this.sink = undefined;
    const sent = this.size;
    this.chunks.length = 0;
    this.size = 0;
    return sent;
  }

  /** Stops reading ahead and drops what was kept (no tunnel: the client is being reset). */
  discard(): void {
    this.socket.off('data', this.onData);
    this.sink = undefined;
    this.chunks.length = 0;
    this.size = 0;
  }
}
