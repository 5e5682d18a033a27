/**
 * A typed subset of the Kubernetes structural OpenAPI v3 schema (apiextensions.k8s.io/v1
 * JSONSchemaProps) and small builders for the shapes our CRDs repeat. Keys are spelled exactly as
 * the API server expects (`x-kubernetes-validations`, ...) so the objects are written to YAML as-is.
 */

/** A CEL validation rule evaluated by the API server. */
export interface ValidationRule {
  /** CEL expression; `self` is the value at the schema node carrying the rule. */
  readonly rule: string;
  /** What the user sees when the rule fails: say what is wrong and what to change. */
  readonly message: string;
}

export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number';
  readonly description?: string;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly (string | number)[];
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly 'x-kubernetes-validations'?: readonly ValidationRule[];
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** Upper bound for lists that carry per-item CEL rules (keeps the rule cost estimate bounded). */
export const MAX_LIST_ITEMS = 256;
/** Upper bound for free-form strings (bounds CEL cost estimates and stored object size). */
export const MAX_STRING_LENGTH = 253;

export function str(description: string, extra: Partial<JsonSchema> = {}): JsonSchema {
  return { type: 'string', description, ...extra };
}

export function obj(
  description: string,
  properties: Readonly<Record<string, JsonSchema>>,
  required: readonly string[] = [],
  extra: Partial<JsonSchema> = {},
): JsonSchema {
  return {
    type: 'object',
    description,
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...extra,
  };
}

export function list(description: string, items: JsonSchema, extra: Partial<JsonSchema> = {}): JsonSchema {
  return { type: 'array', description, items, ...extra };
}

/** A TCP port, 1..65535 (or from `minimum`, e.g. 0 where 0 means "allocate one for me"). */
export function port(description: string, minimum = 1): JsonSchema {
  return { type: 'integer', description, minimum, maximum: 65535 };
}

/** A string-to-string map such as labels. */
export function stringMap(description: string): JsonSchema {
  return { type: 'object', description, additionalProperties: { type: 'string' } };
}

/** metav1.Condition, as `kubectl` and client libraries expect it. */
export function conditions(description: string): JsonSchema {
  const condition = obj(
    'One aspect of the current state of the object.',
    {
      type: str('Type of the condition in CamelCase.', {
        maxLength: 316,
        pattern:
          '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      }),
      status: str('Status of the condition: True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      observedGeneration: {
        type: 'integer',
        format: 'int64',
        minimum: 0,
        description: 'The metadata.generation the condition was computed from.',
      },
      lastTransitionTime: str('When the condition last changed status.', { format: 'date-time' }),
      reason: str('Machine-readable CamelCase reason for the last transition.', {
        minLength: 1,
        maxLength: 1024,
        pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      }),
      message: str('Human-readable details about the last transition.', { maxLength: 32768 }),
    },
    ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  );
  return list(description, condition, {
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

/** A Kubernetes LabelSelector (matchLabels, matchExpressions with In, NotIn, Exists, DoesNotExist). */
export function labelSelector(description: string): JsonSchema {
  const requirement = obj(
    'A selector requirement: a key, an operator and (for In and NotIn) values.',
    {
      key: str('The attribute (label) key the requirement applies to.', { minLength: 1, maxLength: 316 }),
      operator: str('How the key relates to the values.', {
        enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
        maxLength: 16,
      }),
      values: list('Values for In and NotIn; must be empty for Exists and DoesNotExist.', str('A value.'), {
        maxItems: MAX_LIST_ITEMS,
        'x-kubernetes-list-type': 'atomic',
      }),
    },
    ['key', 'operator'],
    {
      'x-kubernetes-validations': [
        {
          rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
          message:
            'matchExpressions: operators In and NotIn need at least one entry in values; Exists and DoesNotExist take no values',
        },
      ],
    },
  );
  return obj(
    description,
    {
      matchLabels: stringMap('Attributes that must all be equal to the given values.'),
      matchExpressions: list('Requirements that must all hold.', requirement, {
        maxItems: MAX_LIST_ITEMS,
        'x-kubernetes-list-type': 'atomic',
      }),
    },
    [],
    { 'x-kubernetes-map-type': 'atomic' },
  );
}
