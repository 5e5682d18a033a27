/** What each reconciler watches: informer events mapped to keys, the snapshot trigger, the startup set. */
import type { Pod } from '../../../controller/k8s/core';
import type { KubeObject } from '../../../controller/k8s/object';
import {
  changesSnapshot,
  keysFor,
  POLICIES_KEY,
  startupKeys,
  type Change,
  type Resource,
  type WatchView,
} from '../../../controller/reconcile/watches';
import type { Import } from '../../../imports/clusterlink.net.types';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_IMPORT_NAME_LABEL } from '../../../kernel/api/labels';

const obj = (namespace: string, name: string, labels?: Record<string, string>): KubeObject => ({
  metadata: { namespace, name, labels },
});
const imp = (name: string, targetPort?: number): Import =>
  ({
    metadata: { namespace: 'default', name },
    spec: { port: 80, targetPort, sources: [] },
  }) as unknown as Import;
const pod = (ip: string, ready: 'True' | 'False'): Pod =>
  ({
    metadata: { namespace: 'clusterlink-system', name: 'dp-1', labels: { app: 'dp' } },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: ready }] },
  }) as unknown as Pod;

function viewOf(imports: Import[], exports: string[] = []): WatchView {
  return {
    imports: () => imports,
    hasImport: (key) => imports.some((i) => `${i.metadata.namespace}/${i.metadata.name}` === key),
    hasExport: (key) => exports.includes(key),
    isDataplanePod: (p) => p.metadata?.labels?.app === 'dp',
  };
}

const add = (object: KubeObject): Change => ({ event: 'add', object });

describe('watches', () => {
  const a = imp('a', 20001);
  const b = imp('b', 20001);
  const c = imp('c', 20002);
  const view = viewOf([a, b, c], ['default/shared']);

  test('an Import change reconciles it and the Imports competing for its old and new port', () => {
    const moved = imp('c', 20001);
    expect(keysFor('import', 'imports', { event: 'update', object: moved, old: c }, view).sort()).toEqual([
      'default/a',
      'default/b',
      'default/c',
    ]);
    // A resync (the same object) touches only itself.
    expect(keysFor('import', 'imports', { event: 'update', object: a, old: a }, view)).toEqual(['default/a']);
  });

  test('Services: their owner Import, an Import and an Export of the same name', () => {
    const owned = obj('default', 'x', {
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      [OWNER_IMPORT_NAME_LABEL]: 'a',
    });
    expect(keysFor('import', 'services', add(owned), view)).toEqual(['default/a']);
    expect(keysFor('import', 'services', add(obj('default', 'b')), view)).toEqual(['default/b']);
    expect(keysFor('export', 'services', add(obj('default', 'shared')), view)).toEqual(['default/shared']);
    expect(keysFor('export', 'services', add(obj('default', 'b')), view)).toEqual([]);
    // Not ours: the owner label alone does not count.
    expect(
      keysFor('import', 'services', add(obj('default', 'y', { [OWNER_IMPORT_NAME_LABEL]: 'a' })), view),
    ).toEqual([]);
  });

  test("a data-plane pod's address or readiness reconciles every Import; other pods nothing", () => {
    const all = ['default/a', 'default/b', 'default/c'];
    expect(
      keysFor(
        'import',
        'pods',
        { event: 'update', object: pod('10.0.0.2', 'True'), old: pod('10.0.0.1', 'True') },
        view,
      ),
    ).toEqual(all);
    expect(
      keysFor(
        'import',
        'pods',
        { event: 'update', object: pod('10.0.0.1', 'True'), old: pod('10.0.0.1', 'True') },
        view,
      ),
    ).toEqual([]);
    expect(keysFor('import', 'pods', { event: 'delete', object: pod('10.0.0.1', 'True') }, view)).toEqual(
      all,
    );
    const other = { ...pod('10.0.0.3', 'True'), metadata: { namespace: 'default', name: 'web' } } as Pod;
    expect(keysFor('import', 'pods', add(other), view)).toEqual([]);
  });

  test('peers, exports and policies', () => {
    expect(keysFor('peer', 'peers', add(obj('clusterlink-system', 'west')), view)).toEqual([
      'clusterlink-system/west',
    ]);
    expect(keysFor('export', 'exports', add(obj('default', 'db')), view)).toEqual(['default/db']);
    for (const resource of ['accessPolicies', 'privilegedAccessPolicies'] as Resource[])
      expect(keysFor('policy', resource, add(obj('default', 'p')), view)).toEqual([POLICIES_KEY]);
    expect(keysFor('peer', 'exports', add(obj('default', 'db')), view)).toEqual([]);
  });

  test('which changes rebuild the snapshot', () => {
    expect(changesSnapshot('endpointSlices', add(obj('default', 's')))).toBe(false);
    const p = pod('10.0.0.1', 'True');
    expect(changesSnapshot('pods', { event: 'update', object: p, old: p })).toBe(false);
    expect(changesSnapshot('pods', { event: 'delete', object: p })).toBe(true);
    expect(changesSnapshot('pods', add(p))).toBe(true);
    expect(changesSnapshot('imports', { event: 'update', object: a, old: a })).toBe(true);
  });

  test('startup: every Import and the owners of our objects, every Export and Peer, the policy report', () => {
    const orphan = obj('default', 'gone', {
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      [OWNER_IMPORT_NAME_LABEL]: 'gone',
    });
    const lists: Partial<Record<Resource, KubeObject[]>> = {
      imports: [a, c],
      services: [orphan],
      exports: [obj('default', 'db')],
      peers: [obj('clusterlink-system', 'west')],
    };
    const list = (r: Resource) => lists[r] ?? [];
    const v = viewOf([a, c]);
    expect(startupKeys('import', list, v).sort()).toEqual(['default/a', 'default/c', 'default/gone']);
    expect(startupKeys('export', list, v)).toEqual(['default/db']);
    expect(startupKeys('peer', list, v)).toEqual(['clusterlink-system/west']);
    expect(startupKeys('policy', list, v)).toEqual([POLICIES_KEY]);
  });
});
