/**
 * Connects to an export's target (Service DNS name or spec.host, spec.port) with a timeout. The
 * address always comes from the snapshot's Export, never from a request.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { SnapshotExport } from '../../kernel/api/snapshot';
import { ExportUnreachableError } from '../errors';
import { STREAM_HIGH_WATER_MARK, tuneSocket } from '../tuning';

export function connectToExport(target: SnapshotExport, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // highWaterMark is accepted by net.connect (Node >= 18) though @types/node 20 does not declare it.
    const socket = connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      highWaterMark: STREAM_HIGH_WATER_MARK,
    } as NetConnectOpts);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ExportUnreachableError(
          `connect to ${target.host}:${target.port} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new ExportUnreachableError(`connect to ${target.host}:${target.port} failed: ${err.message}`, {
          cause: err,
        }),
      );
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      tuneSocket(socket);
      resolve(socket);
    });
  });
}
