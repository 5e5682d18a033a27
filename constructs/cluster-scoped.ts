import { ApiObject, Chart, JsonPatch } from 'cdk8s';

/**
 * Keeps a cluster-scoped object free of a namespace even in a Chart that has one (a Chart stamps
 * its namespace onto every object without one, and the API server refuses a namespaced CRD,
 * ClusterRole or Namespace).
 */
export function clusterScoped<T extends ApiObject>(object: T): T {
  if (Chart.of(object).namespace !== undefined) object.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return object;
}
