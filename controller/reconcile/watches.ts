/**
 * What each reconciler watches and how an informer event maps to the keys it reconciles, declared
 * once (controller-runtime's For/Owns/Watches), plus which events change the data plane's
 * snapshot. Pure: main.ts connects these declarations to the informers and work queues.
 */
import type { Import } from '../../imports/clusterlink.net.types';
import type { Pod } from '../k8s/core';
import type { InformerEvent } from '../k8s/informer';
import { keyOf, type KubeObject } from '../k8s/object';
import { ownerImportKey } from './labels';

/** The informers of the ClusterCache, by name. */
export type Resource =
  | 'imports'
  | 'exports'
  | 'peers'
  | 'accessPolicies'
  | 'privilegedAccessPolicies'
  | 'services'
  | 'endpointSlices'
  | 'pods';

export const RECONCILER_KINDS = ['import', 'export', 'peer', 'policy'] as const;
export type ReconcilerKind = (typeof RECONCILER_KINDS)[number];

/** An informer event: `old` is the previous object of an update (the same object on a resync). */
export interface Change {
  readonly event: InformerEvent;
  readonly object: KubeObject;
  readonly old?: KubeObject;
}

/** What the mappings read from the cache. */
export interface WatchView {
  imports(): readonly Import[];
  hasImport(key: string): boolean;
  hasExport(key: string): boolean;
  isDataplanePod(pod: Pod): boolean;
}

export interface Watch {
  readonly resource: Resource;
  readonly keys: (change: Change, view: WatchView) => readonly (string | undefined)[];
}

/** The key every policy event maps to: the policy reporter looks at all policies at once. */
export const POLICIES_KEY = 'policies';

const self = ({ object }: Change): string[] => [keyOf(object)];
const owner = ({ object }: Change): (string | undefined)[] => [ownerImportKey(object)];

function importsOnPort(view: WatchView, port: number | undefined): string[] {
  return port
    ? view
        .imports()
        .filter((i) => i.spec?.targetPort === port)
        .map((i) => keyOf(i))
    : [];
}

/** A data-plane pod's address or readiness changed: every Import's endpoints follow it. */
export function podEndpointChanged(pod: Pod, old: Pod | undefined): boolean {
  if (!old || old === pod) return true;
  const ready = (p: Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return (
    old.status?.podIP !== pod.status?.podIP ||
    ready(old) !== ready(pod) ||
    !!old.metadata?.deletionTimestamp !== !!pod.metadata?.deletionTimestamp
  );
}

/** A deleted pod counts as one that lost its status: ready before, not ready now. */
function podBefore({ event, object, old }: Change): Pod | undefined {
  return event === 'delete' ? { ...(object as Pod), status: {} } : (old as Pod | undefined);
}

export const WATCHES: Readonly<Record<ReconcilerKind, readonly Watch[]>> = {
  import: [
    {
      resource: 'imports',
      // Imports competing for a port: one changing or going may settle another.
      keys: (c, view) => [
        keyOf(c.object),
        ...(c.old !== c.object
          ? [
              ...importsOnPort(view, (c.object as Import).spec?.targetPort),
              ...importsOnPort(view, (c.old as Import | undefined)?.spec?.targetPort),
            ]
          : []),
      ],
    },
    // Owns: the Services and EndpointSlices we create, by their owner labels; and a user's
    // Service of the same name as an Import (merge, or a name conflict to report).
    {
      resource: 'services',
      keys: (c, view) => [...owner(c), view.hasImport(keyOf(c.object)) ? keyOf(c.object) : undefined],
    },
    { resource: 'endpointSlices', keys: owner },
    {
      resource: 'pods',
      keys: (c, view) => {
        const pod = c.object as Pod;
        return view.isDataplanePod(pod) && podEndpointChanged(pod, podBefore(c))
          ? view.imports().map((i) => keyOf(i))
          : [];
      },
    },
  ],
  export: [
    { resource: 'exports', keys: self },
    { resource: 'services', keys: (c, view) => (view.hasExport(keyOf(c.object)) ? [keyOf(c.object)] : []) },
  ],
  peer: [{ resource: 'peers', keys: self }],
  policy: [
    { resource: 'accessPolicies', keys: () => [POLICIES_KEY] },
    { resource: 'privilegedAccessPolicies', keys: () => [POLICIES_KEY] },
  ],
};

/** The keys of `kind` that `change` of `resource` asks to reconcile, without repeats. */
export function keysFor(kind: ReconcilerKind, resource: Resource, change: Change, view: WatchView): string[] {
  const keys = new Set<string>();
  for (const watch of WATCHES[kind]) {
    if (watch.resource !== resource) continue;
    for (const key of watch.keys(change, view)) if (key !== undefined) keys.add(key);
  }
  return [...keys];
}

/**
 * Whether a change alters the snapshot the data planes receive. EndpointSlices do not (the
 * snapshot reads Services and pods); a resync (the same object again) of a pod does not either.
 */
export function changesSnapshot(resource: Resource, change: Change): boolean {
  if (resource === 'endpointSlices') return false;
  if (resource === 'pods') return change.event === 'delete' || change.old !== change.object;
  return true;
}

/**
 * What a reconciler converges when this replica starts leading: every key a watch maps the cached
 * objects to, as if each had just been added (this also cleans up after Imports that went while
 * no leader ran). The policy reporter runs once even without policies.
 */
export function startupKeys(
  kind: ReconcilerKind,
  list: (resource: Resource) => readonly KubeObject[],
  view: WatchView,
): string[] {
  if (kind === 'policy') return [POLICIES_KEY];
  const keys = new Set<string>();
  for (const watch of WATCHES[kind]) {
    for (const object of list(watch.resource)) {
      for (const key of watch.keys({ event: 'add', object }, view)) if (key !== undefined) keys.add(key);
    }
  }
  return [...keys];
}
