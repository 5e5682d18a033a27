/**
 * The site harness on its own: three namespaces, backends in each, and the isolation property
 * every other scenario relies on: from another site only the gateway port is reachable.
 * A plain listener stands in for the gateway here; sites.test.ts repeats the check against the
 * real gateways.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  BACKEND_SCRIPT,
  BackendPorts,
  curl,
  iperf,
  redisRoundTrip,
  sendAndHash,
  startBackends,
  tcpConnect,
  type SiteBackends,
} from '../harness/backends';
import { Fabric, listNamespaces, NETNS_PREFIX, podAddress, removeStaleNamespaces } from '../harness/netns';
import { liveProcesses, runOk, spawnManaged, stopAllProcesses } from '../harness/procs';

jest.setTimeout(120_000);

const GATEWAY_PORT = 443;
let fabric: Fabric;
let logDir: string;
const backends = new Map<string, SiteBackends>();

beforeAll(async () => {
  await removeStaleNamespaces();
  logDir = mkdtempSync(path.join(tmpdir(), 'cle2e-netns-'));
  fabric = await Fabric.create({ sites: ['a', 'b', 'c'], openPorts: [GATEWAY_PORT] });
  for (const site of fabric.sites.values()) {
    backends.set(site.site, await startBackends(site, logDir));
    // Stand-in for the gateway: anything listening on the gateway port.
    const gw = spawnManaged('node', [BACKEND_SCRIPT, '--site', site.site, '--http', String(GATEWAY_PORT)], {
      name: `${site.site}/gateway-stand-in`,
      netns: site.netns,
    });
    await gw.waitForOutput(/backend ready/);
  }
});

afterAll(async () => {
  await stopAllProcesses();
  await fabric?.destroy();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

test('each site reaches its own backends (HTTP echo names the site, hash sink, iperf3, redis)', async () => {
  const b = fabric.site('b');
  const address = backends.get('b')!.address;
  const echo = await curl(b, `http://${address}:${BackendPorts.http}/`);
  expect(echo.code).toBe(0);
  expect(JSON.parse(echo.stdout)).toMatchObject({ site: 'b', service: 'echo' });
  const hashed = await sendAndHash(b, address, BackendPorts.sink, 4 * 1024 * 1024);
  expect(hashed).toMatchObject({ ok: true, bytes: 4 * 1024 * 1024, site: 'b' });
  expect(hashed.digest).toBe(hashed.expected);
  expect((await iperf(b, address, BackendPorts.iperf, 1)).bitsPerSecond).toBeGreaterThan(0);
  expect(await redisRoundTrip(b, address, BackendPorts.redis, 'site-b')).toBe('site-b');
});

test('from site A only the gateway port of site B is reachable', async () => {
  const a = fabric.site('a');
  const b = fabric.site('b');
  expect(await tcpConnect(a, b.fabricAddress, GATEWAY_PORT)).toMatchObject({ ok: true });
  for (const port of Object.values(BackendPorts)) {
    // The backends listen on 0.0.0.0 in B, so only the site firewall stands in the way.
    const onFabric = await tcpConnect(a, b.fabricAddress, port);
    expect({ port, ...onFabric }).toMatchObject({ port, ok: false, error: 'ECONNREFUSED' });
    // B's pod addresses are not routed outside B at all.
    const onPod = await tcpConnect(a, backends.get('b')!.address, port);
    expect({ port, ...onPod }).toMatchObject({ port, ok: false, error: 'ENETUNREACH' });
  }
  // The same ports are open inside B, so the refusals above are the isolation, not a dead service.
  expect(await tcpConnect(b, b.fabricAddress, BackendPorts.http)).toMatchObject({ ok: true });
  // And the root namespace (where the API servers run on loopback) is not reachable from a site.
  expect(await tcpConnect(a, '127.0.0.1', 22)).toMatchObject({ ok: false });
});

test('a curl from site A to site B succeeds only on the gateway port', async () => {
  const a = fabric.site('a');
  const b = fabric.site('b');
  const viaGateway = await curl(a, `http://${b.fabricAddress}:${GATEWAY_PORT}/`, undefined, 3);
  expect(JSON.parse(viaGateway.stdout)).toMatchObject({ site: 'b' });
  const direct = await curl(a, `http://${b.fabricAddress}:${BackendPorts.http}/`, undefined, 3);
  expect(direct.code).not.toBe(0);
});

test('teardown removes namespaces and processes, also those of a crashed run', async () => {
  // A namespace named after a process id that cannot exist (above pid_max) is stale by definition.
  const stale = `${NETNS_PREFIX}999999999-x`;
  await runOk('ip', ['netns', 'add', stale]);
  // Printed from inside the namespace, so the process is surely in it before we look.
  const inNamespace = (name: string, netns: string) =>
    spawnManaged('sh', ['-c', 'echo inside; exec sleep 600'], { name, netns });
  const sleeper = inNamespace('stale-sleeper', stale);
  await sleeper.waitForOutput(/inside/);
  expect(await removeStaleNamespaces()).toEqual([stale]);
  expect(await sleeper.exited).toMatchObject({ signal: 'SIGKILL' });
  expect(await listNamespaces()).not.toContain(stale);

  // Our own run is not stale while we live.
  const ours = (await listNamespaces()).filter((n) => n.startsWith(`${NETNS_PREFIX}${process.pid}-`));
  expect(ours.sort()).toEqual([fabric.fabricNetns, ...[...fabric.sites.values()].map((s) => s.netns)].sort());

  const fresh = await Fabric.create({ sites: ['z'], openPorts: [GATEWAY_PORT] });
  const inside = inNamespace('inside', fresh.site('z').netns);
  await inside.waitForOutput(/inside/);
  await fresh.destroy();
  expect(await inside.exited).toMatchObject({ signal: 'SIGKILL' });
  expect(await listNamespaces()).not.toContain(fresh.site('z').netns);
  expect(liveProcesses().map((p) => p.name)).not.toContain('inside');
});

test("the gateway Service rule spreads fabric connections over a site's replicas, as kube-proxy would", async () => {
  const a = fabric.site('a');
  const c = fabric.site('c');
  for (const replica of [0, 1]) {
    const stand = spawnManaged(
      'node',
      [BACKEND_SCRIPT, '--site', `c${replica}`, '--http', String(8443 + replica)],
      { name: `c/replica-${replica}`, netns: c.netns },
    );
    await stand.waitForOutput(/backend ready/);
  }
  await fabric.setServiceEndpoints(c, GATEWAY_PORT, [
    { host: podAddress(c, 2), port: 8443 },
    { host: podAddress(c, 3), port: 8444 },
  ]);
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const response = await curl(a, `http://${c.fabricAddress}:${GATEWAY_PORT}/`, undefined, 3);
    seen.push((JSON.parse(response.stdout) as { site: string }).site);
  }
  expect(seen.sort()).toEqual(['c0', 'c0', 'c1', 'c1']);
  // The replicas' own ports stay closed to the fabric.
  expect(await tcpConnect(a, c.fabricAddress, 8443)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
});
