import type { Pod, Service } from '../../../controller/k8s/core';
import {
  desiredEndpointSlice,
  endpointSliceNeedsUpdate,
  planImportObjects,
  serviceNeedsUpdate,
} from '../../../controller/reconcile/import-service';
import type { Import } from '../../../imports/clusterlink.net.types';

function imp(labels?: Record<string, string>): Import {
  return {
    apiVersion: 'clusterlink.net/v1alpha1',
    kind: 'Import',
    metadata: { name: 'reviews', namespace: 'shop', uid: 'u1', labels },
    spec: {
      port: 9080,
      targetPort: 20001,
      sources: [{ peer: 'west', exportName: 'reviews', exportNamespace: 'shop' }],
    },
  };
}

function pod(name: string, ip: string | undefined, ready = true, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    metadata: { name, namespace: 'clusterlink-system', uid: `uid-${name}`, ...extra },
    status: { podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

const ours = (svc: Service): Service => svc;
const userService: Service = {
  metadata: { name: 'reviews', namespace: 'shop', labels: { app: 'reviews' } },
  spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
};

describe('planImportObjects', () => {
  const pods = [pod('dp-b', '10.0.0.2'), pod('dp-a', '10.0.0.1'), pod('dp-c', undefined)];

  it('wants a selector-less Service on the Import port and an EndpointSlice on the data-plane pods at the target port', () => {
    const plan = planImportObjects(imp(), 20001, undefined, pods);
    expect(plan.service).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'reviews',
        namespace: 'shop',
        labels: {
          'app.kubernetes.io/managed-by': 'clusterlink.net',
          'import.clusterlink.net/name': 'reviews',
          'import.clusterlink.net/namespace': 'shop',
        },
        ownerReferences: [
          {
            apiVersion: 'clusterlink.net/v1alpha1',
            kind: 'Import',
            name: 'reviews',
            uid: 'u1',
            controller: true,
          },
        ],
      },
      spec: { type: 'ClusterIP', ports: [{ name: 'tcp', protocol: 'TCP', port: 9080, targetPort: 20001 }] },
    });
    expect(plan.endpointSlice?.metadata?.name).toBe('reviews-clusterlink');
    expect(plan.endpointSlice?.metadata?.labels).toMatchObject({
      'kubernetes.io/service-name': 'reviews',
      'endpointslice.kubernetes.io/managed-by': 'clusterlink.net',
    });
    expect(plan.endpointSlice?.ports).toEqual([{ name: 'tcp', port: 20001, protocol: 'TCP' }]);
    expect(plan.endpointSlice?.endpoints.map((e) => e.addresses[0])).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(plan.condition).toMatchObject({
      type: 'ImportServiceValid',
      status: 'True',
      reason: 'ServiceReady',
    });
    expect(plan.condition.message).toContain('2 data-plane endpoints on port 20001');
  });

  it('adopts a Service carrying our managed-by label', () => {
    const existing = ours({
      ...userService,
      metadata: { ...userService.metadata, labels: { 'app.kubernetes.io/managed-by': 'clusterlink.net' } },
    });
    const plan = planImportObjects(imp(), 20001, existing, pods);
    expect(plan.service).toBeDefined();
    expect(plan.conflict).toBe(false);
  });

  it('never takes a user Service: conflict, and no slice that would add endpoints to it', () => {
    const plan = planImportObjects(imp(), 20001, userService, pods);
    expect(plan.conflict).toBe(true);
    expect(plan.service).toBeUndefined();
    expect(plan.endpointSlice).toBeUndefined();
    expect(plan.condition).toMatchObject({ status: 'False', reason: 'ServiceConflict' });
    expect(plan.condition.message).toContain('import.clusterlink.net/merge=true');
  });

  it('merge mode: only a slice, on the user Service port name', () => {
    const plan = planImportObjects(imp({ 'import.clusterlink.net/merge': 'true' }), 20001, userService, pods);
    expect(plan.service).toBeUndefined();
    expect(plan.endpointSlice?.ports).toEqual([{ name: 'http', port: 20001, protocol: 'TCP' }]);
    expect(plan.condition).toMatchObject({ status: 'True', reason: 'ServiceMerged' });
  });

  it('merge mode: a missing Service, or one without the port, is reported', () => {
    const merge = imp({ 'import.clusterlink.net/merge': 'true' });
    expect(planImportObjects(merge, 20001, undefined, pods).condition.reason).toBe('ServiceNotFound');
    const noPort = { ...userService, spec: { ports: [{ name: 'x', port: 1 }] } };
    expect(planImportObjects(merge, 20001, noPort, pods).condition.reason).toBe('ServicePortNotFound');
    // Our own Service left over from non-merge mode is not a merge target.
    const leftover = {
      ...userService,
      metadata: { ...userService.metadata, labels: { 'app.kubernetes.io/managed-by': 'clusterlink.net' } },
    };
    const left = planImportObjects(merge, 20001, leftover, pods);
    expect(left.service).toBeUndefined();
    expect(left.condition.reason).toBe('ServiceNotFound');
  });

  it('wants nothing while the target port is invalid', () => {
    const plan = planImportObjects(imp(), undefined, undefined, pods);
    expect(plan.service).toBeUndefined();
    expect(plan.endpointSlice).toBeUndefined();
    expect(plan.condition.reason).toBe('TargetPortInvalid');
  });
});

describe('desiredEndpointSlice', () => {
  it('marks unready pods, drops deleting ones and pods without an IP', () => {
    const s = desiredEndpointSlice(imp(), 20001, 'tcp', [
      pod('a', '10.0.0.1', false),
      pod('b', '10.0.0.2', true, { deletionTimestamp: 'now' }),
      pod('c', undefined),
    ]);
    expect(s.endpoints).toEqual([
      {
        addresses: ['10.0.0.1'],
        conditions: { ready: false },
        targetRef: { kind: 'Pod', name: 'a', namespace: 'clusterlink-system', uid: 'uid-a' },
      },
    ]);
    expect(s.addressType).toBe('IPv4');
  });

  it('uses IPv6 when the data-plane pods are IPv6', () => {
    expect(desiredEndpointSlice(imp(), 1, 'tcp', [pod('a', 'fd00::1')]).addressType).toBe('IPv6');
  });
});

describe('update checks', () => {
  const plan = planImportObjects(imp(), 20001, undefined, [pod('a', '10.0.0.1')]);
  it('sees no change in what it created', () => {
    expect(serviceNeedsUpdate(plan.service!, plan.service!)).toBe(false);
    expect(endpointSliceNeedsUpdate(plan.endpointSlice!, plan.endpointSlice!)).toBe(false);
  });
  it('sees a changed port, an added selector, a lost label, a new endpoint', () => {
    const svc = plan.service!;
    expect(
      serviceNeedsUpdate(
        { ...svc, spec: { ...svc.spec, ports: [{ ...svc.spec!.ports![0]!, targetPort: 1 }] } },
        svc,
      ),
    ).toBe(true);
    expect(serviceNeedsUpdate({ ...svc, spec: { ...svc.spec, selector: { a: 'b' } } }, svc)).toBe(true);
    expect(serviceNeedsUpdate({ ...svc, metadata: { ...svc.metadata, labels: {} } }, svc)).toBe(true);
    const other = planImportObjects(imp(), 20001, undefined, [pod('a', '10.0.0.1'), pod('b', '10.0.0.2')]);
    expect(endpointSliceNeedsUpdate(plan.endpointSlice!, other.endpointSlice!)).toBe(true);
  });
});
