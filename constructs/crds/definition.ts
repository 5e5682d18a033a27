import { API_GROUP, API_VERSION } from '../../kernel/api/labels';
import { JsonSchema, ValidationRule, obj, str } from './schema';

/** A column of `kubectl get` output. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description: string;
  /** 0 = always shown; 1 = shown with `-o wide` only. */
  readonly priority?: number;
}

/** Everything that distinguishes one of our kinds; the rest of a CRD is the same for all. */
export interface CrdDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly description: string;
  readonly spec: JsonSchema;
  /** Present = the kind has a status subresource. */
  readonly status?: JsonSchema;
  readonly printerColumns: readonly PrinterColumn[];
  /** Rules on the whole object (they may read metadata.name). */
  readonly objectValidations?: readonly ValidationRule[];
}

/** Every kind is listed by `kubectl get clusterlink`. */
export const CATEGORY = 'clusterlink';

const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

/** The plain JSON of an apiextensions.k8s.io/v1 CustomResourceDefinition for one of our kinds. */
export function customResourceDefinition(definition: CrdDefinition): Record<string, unknown> {
  const properties: Record<string, JsonSchema> = {
    apiVersion: str('Versioned schema of this representation of an object.'),
    kind: str('REST resource this object represents.'),
    metadata: { type: 'object' },
    spec: definition.spec,
  };
  if (definition.status) properties.status = definition.status;
  const openAPIV3Schema = obj(definition.description, properties, ['spec'], {
    ...(definition.objectValidations ? { 'x-kubernetes-validations': definition.objectValidations } : {}),
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${definition.plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'clusterlink' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: [...definition.shortNames],
        categories: [CATEGORY],
      },
      scope: definition.scope,
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          ...(definition.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: [...definition.printerColumns, AGE_COLUMN],
        },
      ],
    },
  };
}
