import { Condition, IMPORT_MERGE_LABEL } from '../../kernel/api/labels';
import { CrdDefinition, PrinterColumn } from './definition';
import {
  JsonSchema,
  MAX_LIST_ITEMS,
  MAX_STRING_LENGTH,
  conditions,
  labelSelector,
  list,
  obj,
  port,
  str,
  stringMap,
} from './schema';

/** The JSONPath of the status of one condition, for a printer column. */
function conditionStatus(type: string): string {
  return `.status.conditions[?(@.type=="${type}")].status`;
}

const NAME = { minLength: 1, maxLength: MAX_STRING_LENGTH } as const;

export const PEER: CrdDefinition = {
  kind: 'Peer',
  plural: 'peers',
  singular: 'peer',
  shortNames: ['clpeer'],
  scope: 'Namespaced',
  description:
    'A remote ClusterLink gateway (site) this gateway can import services from. The name is the remote ' +
    "peer's name: the first DNS SAN of its certificate. Lives in the gateway's namespace.",
  spec: obj(
    'How to reach the remote peer.',
    {
      gateways: list(
        'Addresses of the remote gateways; tried in order, at least one.',
        obj(
          'A network endpoint of a remote gateway.',
          {
            host: str('Host name or IP address of the remote gateway.', NAME),
            port: port('Gateway port (the remote gateway Service port, e.g. 443 or a NodePort).'),
          },
          ['host', 'port'],
        ),
        { minItems: 1, maxItems: 16, 'x-kubernetes-list-type': 'atomic' },
      ),
    },
    ['gateways'],
  ),
  status: obj('Observed state of the remote peer, written by the control plane.', {
    conditions: conditions(`Conditions; type ${Condition.peerReachable} is set from heartbeats.`),
    labels: stringMap("The remote peer's labels, learned from its heartbeat responses."),
  }),
  printerColumns: [
    {
      name: 'Reachable',
      type: 'string',
      jsonPath: conditionStatus(Condition.peerReachable),
      description: 'Whether heartbeats to the peer currently succeed.',
    },
    {
      name: 'Gateways',
      type: 'string',
      jsonPath: '.spec.gateways',
      description: 'Addresses of the remote gateways.',
    },
  ],
};

export const EXPORT: CrdDefinition = {
  kind: 'Export',
  plural: 'exports',
  singular: 'export',
  shortNames: ['clexport'],
  scope: 'Namespaced',
  description:
    'A local service offered to remote peers. Without spec.host the Service <name>.<namespace> ' +
    'is exported (it must exist).',
  spec: obj('What is exported.', {
    host: str('Host name or IP address of the exported service; empty = the Service <name>.<namespace>.', {
      maxLength: MAX_STRING_LENGTH,
    }),
    port: port('Port of the exported service; empty = the port of the Service <name>.<namespace>.'),
  }),
  status: obj('Observed state of the export, written by the control plane.', {
    conditions: conditions(`Conditions; type ${Condition.exportValid} says whether the target is usable.`),
  }),
  printerColumns: [
    {
      name: 'Host',
      type: 'string',
      jsonPath: '.spec.host',
      description: 'Exported host (empty = the Service of the same name).',
    },
    { name: 'Port', type: 'integer', jsonPath: '.spec.port', description: 'Exported port.' },
    {
      name: 'Valid',
      type: 'string',
      jsonPath: conditionStatus(Condition.exportValid),
      description: 'Whether the export target is valid.',
    },
  ],
};

export const LB_SCHEMES = ['round-robin', 'random', 'static'] as const;

export const IMPORT: CrdDefinition = {
  kind: 'Import',
  plural: 'imports',
  singular: 'import',
  shortNames: ['climport'],
  scope: 'Namespaced',
  description:
    'A remote service made available locally as the Service <name>.<namespace>:<port>. With the ' +
    `label ${IMPORT_MERGE_LABEL}: "true" the endpoints are added to an existing Service of that name instead.`,
  spec: obj(
    'What is imported and from where.',
    {
      port: port('Port of the local Service clients connect to.'),
      targetPort: port(
        'Gateway listener port for this import; 0 or absent = allocated by the control plane and written back.',
        0,
      ),
      sources: list(
        'Exports (on remote peers) this import forwards to.',
        obj(
          'An export on a remote peer.',
          {
            peer: str('Name of the Peer that exports the service.', NAME),
            exportName: str('Name of the Export on that peer.', NAME),
            exportNamespace: str('Namespace of the Export on that peer.', NAME),
          },
          ['peer', 'exportName', 'exportNamespace'],
        ),
        { minItems: 1, maxItems: MAX_LIST_ITEMS, 'x-kubernetes-list-type': 'atomic' },
      ),
      lbScheme: str('How a connection picks among the sources: round-robin, random, or static (in order).', {
        enum: [...LB_SCHEMES],
        default: 'round-robin',
      }),
    },
    ['port', 'sources'],
  ),
  status: obj('Observed state of the import, written by the control plane.', {
    conditions: conditions(
      `Conditions: ${Condition.importTargetPortValid} (the listener port) and ${Condition.importServiceValid} (the local Service).`,
    ),
  }),
  objectValidations: [
    {
      rule: 'size(self.metadata.name) <= 63',
      message:
        'Import name must be at most 63 characters, because it becomes the name of a Service; choose a shorter metadata.name',
    },
  ],
  printerColumns: [
    { name: 'Port', type: 'integer', jsonPath: '.spec.port', description: 'Local Service port.' },
    {
      name: 'Target Port',
      type: 'integer',
      jsonPath: '.spec.targetPort',
      description: 'Gateway listener port.',
      priority: 1,
    },
    { name: 'LB Scheme', type: 'string', jsonPath: '.spec.lbScheme', description: 'Load-balancing scheme.' },
    {
      name: 'Valid',
      type: 'string',
      jsonPath: conditionStatus(Condition.importServiceValid),
      description: 'Whether the local Service for the import is in place.',
    },
    {
      name: 'Port Valid',
      type: 'string',
      jsonPath: conditionStatus(Condition.importTargetPortValid),
      description: 'Whether the gateway listener port is valid.',
      priority: 1,
    },
    {
      name: 'Sources',
      type: 'string',
      jsonPath: '.spec.sources',
      description: 'Exports this import forwards to.',
    },
  ],
};

const workloadSetOrSelector: JsonSchema = obj(
  'A set of workloads: exactly one of workloadSelector or workloadSets.',
  {
    workloadSelector: labelSelector(
      'Selects workloads by their attributes (peer.clusterlink.net/name, client.clusterlink.net/labels.<k>, ' +
        'export.clusterlink.net/name, ...); {} selects every workload.',
    ),
    workloadSets: list(
      'Names of predefined workload sets.',
      str('A workload set name.', { minLength: 1, maxLength: MAX_STRING_LENGTH }),
      { minItems: 1, maxItems: MAX_LIST_ITEMS, 'x-kubernetes-list-type': 'atomic' },
    ),
  },
  [],
  {
    'x-kubernetes-validations': [
      {
        rule: 'has(self.workloadSelector) != has(self.workloadSets)',
        message:
          'each from/to item must set exactly one of workloadSelector or workloadSets (use workloadSelector: {} to match every workload)',
      },
    ],
  },
);

export const POLICY_ACTIONS = ['allow', 'deny'] as const;

function policySpec(): JsonSchema {
  const items = (what: string): JsonSchema =>
    list(what, workloadSetOrSelector, { maxItems: MAX_LIST_ITEMS, 'x-kubernetes-list-type': 'atomic' });
  return obj(
    'Which connections the policy applies to and what it decides.',
    {
      action: str('allow or deny the matching connections.', { enum: [...POLICY_ACTIONS] }),
      from: items('Source workloads; a connection matches if its source matches any item.'),
      to: items('Destination services; a connection matches if its destination matches any item.'),
    },
    ['action', 'from', 'to'],
    {
      'x-kubernetes-validations': [
        {
          rule: '!has(self.from) || size(self.from) > 0',
          message: 'spec.from must list at least one item (use - workloadSelector: {} to match every source)',
        },
        {
          rule: '!has(self.to) || size(self.to) > 0',
          message:
            'spec.to must list at least one item (use - workloadSelector: {} to match every destination)',
        },
      ],
    },
  );
}

const ACTION_COLUMN: PrinterColumn = {
  name: 'Action',
  type: 'string',
  jsonPath: '.spec.action',
  description: 'allow or deny.',
};

export const ACCESS_POLICY: CrdDefinition = {
  kind: 'AccessPolicy',
  plural: 'accesspolicies',
  singular: 'accesspolicy',
  shortNames: ['clap'],
  scope: 'Namespaced',
  description:
    'Allows or denies connections between workloads; counts only in its namespace (the Import namespace on ' +
    'the importing side, the Export namespace on the exporting side). Deny wins over allow.',
  spec: policySpec(),
  printerColumns: [ACTION_COLUMN],
};

export const PRIVILEGED_ACCESS_POLICY: CrdDefinition = {
  kind: 'PrivilegedAccessPolicy',
  plural: 'privilegedaccesspolicies',
  singular: 'privilegedaccesspolicy',
  shortNames: ['clpap'],
  scope: 'Cluster',
  description:
    'A cluster-wide AccessPolicy, evaluated before every namespaced AccessPolicy. Deny wins over allow.',
  spec: policySpec(),
  printerColumns: [ACTION_COLUMN],
};

/** Every ClusterLink kind, in the order the CRDs are written. */
export const ALL_KINDS: readonly CrdDefinition[] = [
  PEER,
  EXPORT,
  IMPORT,
  ACCESS_POLICY,
  PRIVILEGED_ACCESS_POLICY,
];
