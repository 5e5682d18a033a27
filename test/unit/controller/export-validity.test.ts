import type { Service } from '../../../controller/k8s/core';
import { resolveExport } from '../../../controller/reconcile/export-validity';
import type { Export } from '../../../imports/clusterlink.net.types';

const exp = (spec: Export['spec']): Export => ({
  apiVersion: 'clusterlink.net/v1alpha1',
  kind: 'Export',
  metadata: { name: 'echo', namespace: 'apps' },
  spec,
});
const svc = (...ports: number[]): Service => ({
  metadata: { name: 'echo', namespace: 'apps' },
  spec: { ports: ports.map((port) => ({ port })) },
});

describe('resolveExport', () => {
  it('is valid with the Service, resolving to its cluster DNS name and only port', () => {
    expect(resolveExport(exp({}), svc(8080))).toEqual({
      condition: {
        type: 'ExportValid',
        status: 'True',
        reason: 'ServiceFound',
        message: 'exports echo.apps.svc.cluster.local:8080',
      },
      target: { host: 'echo.apps.svc.cluster.local', port: 8080 },
    });
  });
  it('is invalid without the Service', () => {
    expect(resolveExport(exp({}), undefined)).toEqual({
      condition: {
        type: 'ExportValid',
        status: 'False',
        reason: 'ServiceNotFound',
        message: 'Service apps/echo does not exist',
      },
    });
  });
  it('needs spec.port when the Service has several ports, and the port must be one of them', () => {
    expect(resolveExport(exp({}), svc(80, 443)).condition.reason).toBe('PortAmbiguous');
    expect(resolveExport(exp({ port: 443 }), svc(80, 443)).target).toEqual({
      host: 'echo.apps.svc.cluster.local',
      port: 443,
    });
    expect(resolveExport(exp({ port: 8443 }), svc(80, 443)).condition.reason).toBe('ServicePortNotFound');
    expect(resolveExport(exp({}), svc()).condition.reason).toBe('ServicePortNotFound');
  });
  it('is valid with spec.host and spec.port, Service or not', () => {
    expect(resolveExport(exp({ host: 'db.example.com', port: 5432 }), undefined)).toMatchObject({
      condition: { status: 'True', reason: 'HostSet' },
      target: { host: 'db.example.com', port: 5432 },
    });
    expect(resolveExport(exp({ host: 'db.example.com' }), undefined).condition.reason).toBe('PortMissing');
  });
});
