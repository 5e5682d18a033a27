/**
 * Reset propagation over TLS tunnels (the compatible HTTP/1.1 protocol carries a tunnel on a TLS
 * connection). A TLSSocket has no way to send a TCP RST, and a peer sees a destroyed TLS socket as a
 * plain end of stream, so a reset would arrive as a clean close. The TCP socket under it can reset:
 * this makes an abortive destroy (one that happens before both halves ended cleanly) reset the TCP
 * connection, so the remote gateway sees ECONNRESET and resets its side in turn. A destroy after a
 * clean end both ways stays a normal close (a RST then could discard data still in flight).
 */
import { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export function resetTcpOnAbortiveDestroy(socket: TLSSocket): void {
  const raw = (socket as unknown as { _parent?: unknown })._parent;
  if (!(raw instanceof Socket)) return;
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (error?: Error): TLSSocket => {
    const clean = socket.readableEnded && socket.writableFinished;
    if (!socket.destroyed && !clean && !raw.destroyed && !raw.pending) {
      try {
        raw.resetAndDestroy();
      } catch {
        /* fall through to the plain destroy */
      }
    }
    return destroy(error);
  };
}
