/**
 * Refusal log lines at the gateway port are rate-limited per peer and code (a peer hammering the
 * gateway cannot flood the log), while metrics count every refusal and allowed decisions are all
 * logged. Real gateway, real TLS, the pino output captured.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../../kernel/log';
import { DataPlaneErrorCode } from '../../../dataplane/errors';
import { DEFAULT_REFUSAL_LOG_LIMITS } from '../../../dataplane/log-limiter';
import {
  encodeAttributesHeader,
  EXPORT_NAME_HEADER,
  EXPORT_NAMESPACE_HEADER,
  SOURCE_ATTRIBUTES_HEADER,
} from '../../../dataplane/protocol';
import {
  ALLOW_ALL,
  exportOf,
  h2Request,
  h2To,
  snapshotFor,
  startDataPlane,
  startEcho,
  perFile,
} from './harness';

const fixture = perFile(['east', 'west', 'north']);
const { cleanup } = fixture;

interface LogLine {
  msg: string;
  peer?: string;
  code?: string;
  decision?: string;
  suppressed?: number;
}

/** A gateway `west` whose log lines are collected, on a clock the test moves. */
async function startWest(policies = [ALLOW_ALL]) {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  const clock = { now: Date.now() };
  const echo = await startEcho(cleanup);
  const west = await startDataPlane(cleanup, {
    logger: createLogger({ level: 'info', destination }),
    now: () => clock.now,
  });
  await west.applySnapshot(
    snapshotFor(fixture.pki, { name: 'west', exports: [exportOf('svc', echo.port)], policies }),
  );
  return { west, lines, clock };
}

const { maxLines, intervalMs } = DEFAULT_REFUSAL_LOG_LIMITS;

describe('refusal logs', () => {
  it('a burst of 100 refusals from one peer logs at most the limit; a later line reports the rest', async () => {
    const { west, lines, clock } = await startWest();
    const east = await h2To(west, fixture.pki.certs.east, { ca: fixture.pki.ca.cert, servername: 'west' });
    cleanup.add(() => east.destroy());
    const noToken = () => h2Request(east, { ':method': 'CONNECT', ':authority': 'west:443' });
    for (let i = 0; i < 100; i++) expect((await noToken()).status).toBe(400);

    const refused = () => lines.filter((l) => l.msg === 'request refused' && l.peer === 'east');
    expect(refused()).toHaveLength(maxLines);
    expect(
      refused().every((l) => l.code === DataPlaneErrorCode.badRequest && l.suppressed === undefined),
    ).toBe(true);

    clock.now += intervalMs;
    expect((await noToken()).status).toBe(400);
    expect(refused()).toHaveLength(maxLines + 1);
    expect(refused().at(-1)).toMatchObject({ suppressed: 100 - maxLines });

    // Metrics count every refusal.
    const errors = (await west.metrics.errors.get()).values;
    expect(errors.find((v) => v.labels.code === DataPlaneErrorCode.badRequest)?.value).toBe(101);
  });

  it('denials are limited per peer, allowed decisions are all logged', async () => {
    const denyEast = {
      name: 'deny-east',
      spec: {
        action: 'deny' as const,
        from: [{ workloadSelector: { matchLabels: { 'peer.clusterlink.net/name': 'east' } } }],
        to: [{ workloadSelector: {} }],
      },
    };
    const { west, lines } = await startWest([ALLOW_ALL, denyEast]);
    const authz = async (name: string) => {
      const session = await h2To(west, fixture.pki.certs[name], {
        ca: fixture.pki.ca.cert,
        servername: 'west',
      });
      cleanup.add(() => session.destroy());
      const body = JSON.stringify({
        ServiceName: 'svc',
        ServiceNamespace: 'default',
        SrcAttributes: { 'peer.clusterlink.net/name': name },
      });
      return () => h2Request(session, { ':method': 'POST', ':path': '/authz' }, body);
    };
    const asEast = await authz('east');
    const asNorth = await authz('north');
    for (let i = 0; i < 30; i++) {
      expect((await asEast()).status).toBe(403);
      expect((await asNorth()).status).toBe(200);
    }
    // The fast path's denials share the same limit (same peer, same code).
    const session = await h2To(west, fixture.pki.certs.east, { ca: fixture.pki.ca.cert, servername: 'west' });
    cleanup.add(() => session.destroy());
    const fast = await h2Request(session, {
      ':method': 'CONNECT',
      ':authority': 'svc.default',
      [EXPORT_NAME_HEADER]: 'svc',
      [EXPORT_NAMESPACE_HEADER]: 'default',
      [SOURCE_ATTRIBUTES_HEADER]: encodeAttributesHeader({ 'peer.clusterlink.net/name': 'east' }),
    });
    expect(fast.status).toBe(403);

    const decisions = (peer: string, decision: string) =>
      lines.filter((l) => l.msg === 'authorization decision' && l.peer === peer && l.decision === decision);
    expect(decisions('east', 'deny')).toHaveLength(maxLines);
    expect(decisions('north', 'allow')).toHaveLength(30);
    const denials = (await west.metrics.decisions.get()).values.filter(
      (v) => v.labels.side === 'ingress' && v.labels.result === 'deny',
    );
    expect(denials.reduce((n, v) => n + v.value, 0)).toBe(31);
  });
});
