import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PolicyEngine, DEFAULT_DENY } from '../../../kernel/policy/engine';
import type {
  Attributes,
  LabelSelector,
  PolicyObject,
  WorkloadSetOrSelector,
} from '../../../kernel/policy/types';

const NS = 'default';
const EXPORT = 'export.clusterlink.net/name';
const PEER = 'peer.clusterlink.net/name';
const CLIENT_NS = 'client.clusterlink.net/namespace';
const CLIENT_APP = 'client.clusterlink.net/labels.app';

function sel(selector: LabelSelector): WorkloadSetOrSelector {
  return { workloadSelector: selector };
}

function policy(
  name: string,
  action: 'allow' | 'deny',
  from: WorkloadSetOrSelector[],
  to: WorkloadSetOrSelector[],
  namespace?: string,
): PolicyObject {
  return namespace === undefined
    ? { name, spec: { action, from, to } }
    : { name, namespace, spec: { action, from, to } };
}

const ALL = sel({});
const client = (extra: Record<string, string> = {}): Attributes => ({ [CLIENT_NS]: 'ns1', ...extra });

describe('label selector operators', () => {
  function engineWithTo(selector: LabelSelector): PolicyEngine {
    const engine = new PolicyEngine([policy('p', 'allow', [ALL], [sel(selector)], NS)]);
    expect(engine.invalid).toEqual([]);
    return engine;
  }
  const allowed = (engine: PolicyEngine, destination: Attributes) =>
    engine.decide(client(), destination, NS).action === 'allow';

  test('an empty selector matches everything, including an empty attribute map', () => {
    const engine = engineWithTo({});
    expect(allowed(engine, {})).toBe(true);
    expect(allowed(engine, { a: 'b' })).toBe(true);
  });

  test('matchLabels requires every key with an equal value', () => {
    const engine = engineWithTo({ matchLabels: { a: '1', b: '2' } });
    expect(allowed(engine, { a: '1', b: '2', c: '3' })).toBe(true);
    expect(allowed(engine, { a: '1' })).toBe(false);
    expect(allowed(engine, { a: '1', b: '3' })).toBe(false);
    expect(allowed(engine, { a: '', b: '2' })).toBe(false);
  });

  test('matchLabels with an empty value matches only an empty value', () => {
    const engine = engineWithTo({ matchLabels: { a: '' } });
    expect(allowed(engine, { a: '' })).toBe(true);
    expect(allowed(engine, {})).toBe(false);
  });

  test('In requires the key and one of the values', () => {
    const engine = engineWithTo({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }] });
    expect(allowed(engine, { a: 'x' })).toBe(true);
    expect(allowed(engine, { a: 'y' })).toBe(true);
    expect(allowed(engine, { a: 'z' })).toBe(false);
    expect(allowed(engine, {})).toBe(false);
  });

  test('NotIn matches an absent key or a value outside the set', () => {
    const engine = engineWithTo({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x', 'y'] }] });
    expect(allowed(engine, {})).toBe(true);
    expect(allowed(engine, { a: 'z' })).toBe(true);
    expect(allowed(engine, { a: 'x' })).toBe(false);
    expect(allowed(engine, { a: 'y' })).toBe(false);
  });

  test('Exists matches any value, including empty, and not an absent key', () => {
    const engine = engineWithTo({ matchExpressions: [{ key: 'a', operator: 'Exists' }] });
    expect(allowed(engine, { a: '' })).toBe(true);
    expect(allowed(engine, { a: 'v' })).toBe(true);
    expect(allowed(engine, { b: 'v' })).toBe(false);
  });

  test('DoesNotExist matches only an absent key', () => {
    const engine = engineWithTo({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: [] }] });
    expect(allowed(engine, {})).toBe(true);
    expect(allowed(engine, { b: 'v' })).toBe(true);
    expect(allowed(engine, { a: '' })).toBe(false);
  });

  test('matchLabels and matchExpressions are ANDed', () => {
    const engine = engineWithTo({
      matchLabels: { a: '1' },
      matchExpressions: [
        { key: 'b', operator: 'Exists' },
        { key: 'c', operator: 'NotIn', values: ['bad'] },
      ],
    });
    expect(allowed(engine, { a: '1', b: '' })).toBe(true);
    expect(allowed(engine, { a: '1', b: '', c: 'bad' })).toBe(false);
    expect(allowed(engine, { a: '1' })).toBe(false);
    expect(allowed(engine, { a: '2', b: '' })).toBe(false);
  });

  test('two requirements on one key are ANDed (In x,y AND In y,z = y)', () => {
    const engine = engineWithTo({
      matchExpressions: [
        { key: 'a', operator: 'In', values: ['x', 'y'] },
        { key: 'a', operator: 'In', values: ['y', 'z'] },
      ],
    });
    expect(allowed(engine, { a: 'y' })).toBe(true);
    expect(allowed(engine, { a: 'x' })).toBe(false);
    expect(allowed(engine, { a: 'z' })).toBe(false);
  });

  test('inherited object properties are not attributes', () => {
    const engine = engineWithTo({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] });
    expect(allowed(engine, {})).toBe(false);
    const noExists = engineWithTo({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] });
    expect(allowed(noExists, {})).toBe(true);
  });

  test('keys with several slashes (prefixed client labels) are usable', () => {
    const key = 'client.clusterlink.net/labels.app.kubernetes.io/name';
    const engine = new PolicyEngine([
      policy('p', 'allow', [sel({ matchLabels: { [key]: 'web' } })], [ALL], NS),
    ]);
    expect(engine.invalid).toEqual([]);
    expect(engine.decide(client({ [key]: 'web' }), {}, NS).action).toBe('allow');
    expect(engine.decide(client({ [key]: 'db' }), {}, NS).action).toBe('deny');
  });
});

describe('from and to lists', () => {
  const engine = new PolicyEngine([
    policy(
      'p',
      'allow',
      [sel({ matchLabels: { [PEER]: 'east' } }), sel({ matchLabels: { [PEER]: 'west' } })],
      [sel({ matchLabels: { [EXPORT]: 'a' } }), sel({ matchLabels: { [EXPORT]: 'b' } })],
      NS,
    ),
  ]);

  test('items of from are ORed, items of to are ORed, and from AND to must both match', () => {
    for (const peer of ['east', 'west']) {
      for (const exp of ['a', 'b']) {
        expect(engine.decide(client({ [PEER]: peer }), { [EXPORT]: exp }, NS).action).toBe('allow');
      }
    }
    expect(engine.decide(client({ [PEER]: 'north' }), { [EXPORT]: 'a' }, NS).action).toBe('deny');
    expect(engine.decide(client({ [PEER]: 'east' }), { [EXPORT]: 'c' }, NS).action).toBe('deny');
  });

  test('source attributes are matched by from only, destination attributes by to only', () => {
    expect(engine.decide(client({ [EXPORT]: 'a' }), { [PEER]: 'east' }, NS).action).toBe('deny');
  });
});

describe('tiers and precedence', () => {
  const matchAll = (name: string, action: 'allow' | 'deny', namespace?: string) =>
    policy(name, action, [ALL], [ALL], namespace);

  test('no policy: default deny, with no policy named', () => {
    const decision = new PolicyEngine([]).decide(client(), {}, NS);
    expect(decision).toEqual(DEFAULT_DENY);
    expect(decision.policy).toBeUndefined();
    expect(decision.tier).toBe('default-deny');
  });

  test('privileged deny beats everything', () => {
    const engine = new PolicyEngine([
      matchAll('na', 'allow', NS),
      matchAll('nd', 'deny', NS),
      matchAll('pa', 'allow'),
      matchAll('pd', 'deny'),
    ]);
    expect(engine.decide(client(), {}, NS)).toEqual({
      action: 'deny',
      policy: { kind: 'PrivilegedAccessPolicy', name: 'pd' },
      reason: 'denied by PrivilegedAccessPolicy "pd" (privileged deny tier)',
      tier: 'privileged-deny',
    });
  });

  test('privileged allow beats namespaced deny', () => {
    const engine = new PolicyEngine([matchAll('nd', 'deny', NS), matchAll('pa', 'allow')]);
    expect(engine.decide(client(), {}, NS)).toMatchObject({
      action: 'allow',
      policy: { kind: 'PrivilegedAccessPolicy', name: 'pa' },
      tier: 'privileged-allow',
    });
  });

  test('namespaced deny beats namespaced allow', () => {
    const engine = new PolicyEngine([matchAll('na', 'allow', NS), matchAll('nd', 'deny', NS)]);
    expect(engine.decide(client(), {}, NS)).toEqual({
      action: 'deny',
      policy: { kind: 'AccessPolicy', name: 'nd', namespace: NS },
      reason: `denied by AccessPolicy "${NS}/nd" (namespaced deny tier)`,
      tier: 'namespaced-deny',
    });
  });

  test('namespaced allow allows', () => {
    const engine = new PolicyEngine([matchAll('na', 'allow', NS)]);
    expect(engine.decide(client(), {}, NS)).toMatchObject({ action: 'allow', tier: 'namespaced-allow' });
  });

  test('a higher tier that does not match lets the next tier decide', () => {
    const engine = new PolicyEngine([
      policy('pd', 'deny', [ALL], [sel({ matchLabels: { [EXPORT]: 'secret' } })]),
      matchAll('na', 'allow', NS),
    ]);
    expect(engine.decide(client(), { [EXPORT]: 'secret' }, NS).tier).toBe('privileged-deny');
    expect(engine.decide(client(), { [EXPORT]: 'public' }, NS).tier).toBe('namespaced-allow');
  });

  test('within a tier the first policy by name is reported, whatever the input order', () => {
    const policies = [
      matchAll('zeta', 'deny', NS),
      matchAll('alpha', 'deny', NS),
      matchAll('mid', 'deny', NS),
    ];
    for (const list of [policies, [...policies].reverse()]) {
      expect(new PolicyEngine(list).decide(client(), {}, NS).policy?.name).toBe('alpha');
    }
  });

  test('the first matching policy by name is reported even when indexed and scanned policies mix', () => {
    const engine = new PolicyEngine([
      policy('b-indexed', 'allow', [ALL], [sel({ matchLabels: { [EXPORT]: 'x' } })], NS),
      policy(
        'c-scanned',
        'allow',
        [ALL],
        [sel({ matchExpressions: [{ key: EXPORT, operator: 'Exists' }] })],
        NS,
      ),
      policy('a-indexed', 'allow', [ALL], [sel({ matchLabels: { [EXPORT]: 'x' } })], NS),
      policy('d-peer', 'allow', [sel({ matchLabels: { [PEER]: 'east' } })], [ALL], NS),
    ]);
    expect(engine.decide(client({ [PEER]: 'east' }), { [EXPORT]: 'x' }, NS).policy?.name).toBe('a-indexed');
    expect(engine.decide(client({ [PEER]: 'east' }), { [EXPORT]: 'y' }, NS).policy?.name).toBe('c-scanned');
    expect(engine.decide(client({ [PEER]: 'east' }), {}, NS).policy?.name).toBe('d-peer');
  });

  test('a policy whose to items pin different keys is found through either item', () => {
    const engine = new PolicyEngine([
      policy(
        'either',
        'allow',
        [ALL],
        [
          sel({ matchLabels: { [EXPORT]: 'db' } }),
          sel({ matchLabels: { 'export.clusterlink.net/labels.tier': 'gold' } }),
        ],
        NS,
      ),
    ]);
    expect(engine.decide(client(), { [EXPORT]: 'db' }, NS).action).toBe('allow');
    expect(
      engine.decide(client(), { [EXPORT]: 'web', 'export.clusterlink.net/labels.tier': 'gold' }, NS).action,
    ).toBe('allow');
    expect(
      engine.decide(client(), { [EXPORT]: 'web', 'export.clusterlink.net/labels.tier': 'iron' }, NS),
    ).toBe(DEFAULT_DENY);
  });

  test('decisions are the same objects every time (decide allocates no result)', () => {
    const engine = new PolicyEngine([matchAll('na', 'allow', NS)]);
    expect(engine.decide(client(), {}, NS)).toBe(engine.decide(client(), {}, NS));
    expect(Object.isFrozen(engine.decide(client(), {}, NS))).toBe(true);
  });
});

describe('relevant namespace', () => {
  const engine = new PolicyEngine([
    policy('allow-all', 'allow', [ALL], [ALL], 'team-a'),
    policy('deny-all', 'deny', [ALL], [ALL], 'team-b'),
  ]);

  test('namespaced policies count only in their own namespace', () => {
    expect(engine.decide(client(), {}, 'team-a').action).toBe('allow');
    expect(engine.decide(client(), {}, 'team-b')).toMatchObject({ action: 'deny', tier: 'namespaced-deny' });
    expect(engine.decide(client(), {}, 'team-c')).toBe(DEFAULT_DENY);
  });

  test('the namespace attributes of the connection do not select the namespace', () => {
    const decision = engine.decide(
      client({ [CLIENT_NS]: 'team-a' }),
      { 'export.clusterlink.net/namespace': 'team-a' },
      'team-b',
    );
    expect(decision.tier).toBe('namespaced-deny');
  });

  test('privileged policies apply in every namespace', () => {
    const withPrivileged = new PolicyEngine([policy('global', 'allow', [ALL], [ALL])]);
    for (const ns of ['a', 'b', '']) expect(withPrivileged.decide(client(), {}, ns).action).toBe('allow');
  });

  test('an empty-string namespace on a policy means privileged (cluster-scoped)', () => {
    const e = new PolicyEngine([policy('p', 'allow', [ALL], [ALL], '')]);
    expect(e.decide(client(), {}, 'anything').policy).toEqual({ kind: 'PrivilegedAccessPolicy', name: 'p' });
  });
});

describe('unidentified client guard', () => {
  const dependsOnClient = policy(
    'only-web',
    'allow',
    [sel({ matchLabels: { [CLIENT_APP]: 'web' } })],
    [ALL],
    NS,
  );

  test('a relevant policy selecting on client attributes denies when the client is unknown', () => {
    const engine = new PolicyEngine([dependsOnClient, policy('peers', 'allow', [ALL], [ALL], NS)]);
    const decision = engine.decide({ [PEER]: 'east' }, {}, NS);
    expect(decision).toEqual({
      action: 'deny',
      policy: { kind: 'AccessPolicy', name: 'only-web', namespace: NS },
      reason: `denied: the client could not be identified and AccessPolicy "${NS}/only-web" selects on client attributes`,
      tier: 'client-unidentified',
    });
  });

  test('an identified client is decided normally', () => {
    const engine = new PolicyEngine([dependsOnClient]);
    expect(engine.decide(client({ [CLIENT_APP]: 'web' }), {}, NS).action).toBe('allow');
    expect(engine.decide(client({ [CLIENT_APP]: 'db' }), {}, NS)).toBe(DEFAULT_DENY);
    // Any client attribute identifies the client, not only the namespace.
    expect(engine.decide({ [CLIENT_APP]: 'web' }, {}, NS).action).toBe('allow');
  });

  test('negative selectors on client attributes cannot be bypassed by an unknown client', () => {
    const engine = new PolicyEngine([
      policy(
        'deny-untrusted',
        'deny',
        [
          sel({
            matchExpressions: [{ key: 'client.clusterlink.net/labels.trusted', operator: 'DoesNotExist' }],
          }),
        ],
        [ALL],
      ),
      policy('allow', 'allow', [ALL], [ALL], NS),
    ]);
    expect(engine.decide({}, {}, NS).tier).toBe('client-unidentified');
    expect(engine.decide(client({ 'client.clusterlink.net/labels.trusted': 'yes' }), {}, NS).action).toBe(
      'allow',
    );
  });

  test('policies in other namespaces do not trigger the guard', () => {
    const engine = new PolicyEngine([
      { ...dependsOnClient, namespace: 'elsewhere' },
      policy('peers', 'allow', [ALL], [ALL], NS),
    ]);
    expect(engine.decide({ [PEER]: 'east' }, {}, NS).action).toBe('allow');
    expect(engine.decide({ [PEER]: 'east' }, {}, 'elsewhere').tier).toBe('client-unidentified');
  });

  test('a client-dependent policy that cannot match this connection does not trigger the guard', () => {
    const engine = new PolicyEngine([
      policy(
        'web-to-db',
        'deny',
        [sel({ matchLabels: { [PEER]: 'west', [CLIENT_APP]: 'web' } })],
        [sel({ matchLabels: { [EXPORT]: 'db' } })],
      ),
      policy('peers', 'allow', [ALL], [ALL], NS),
    ]);
    expect(engine.decide({ [PEER]: 'east' }, { [EXPORT]: 'db' }, NS).action).toBe('allow'); // other peer
    expect(engine.decide({ [PEER]: 'west' }, { [EXPORT]: 'cache' }, NS).action).toBe('allow'); // other export
    expect(engine.decide({ [PEER]: 'west' }, { [EXPORT]: 'db' }, NS).tier).toBe('client-unidentified');
  });

  test('selectors on peer attributes alone never need the client', () => {
    const engine = new PolicyEngine([
      policy('p', 'allow', [sel({ matchLabels: { [PEER]: 'east' } })], [ALL], NS),
    ]);
    expect(engine.decide({ [PEER]: 'east' }, {}, NS).action).toBe('allow');
  });
});

describe('invalid policies', () => {
  const good = policy('good', 'allow', [ALL], [ALL], NS);
  const cases: [string, unknown, RegExp][] = [
    [
      'bad action',
      { name: 'x', namespace: NS, spec: { action: 'maybe', from: [ALL], to: [ALL] } },
      /spec\.action/,
    ],
    [
      'empty from',
      { name: 'x', namespace: NS, spec: { action: 'allow', from: [], to: [ALL] } },
      /spec\.from/,
    ],
    ['missing to', { name: 'x', namespace: NS, spec: { action: 'allow', from: [ALL] } }, /spec\.to/],
    ['no spec', { name: 'x', namespace: NS }, /spec must be an object/],
    ['no name', { namespace: NS, spec: { action: 'allow', from: [ALL], to: [ALL] } }, /metadata\.name/],
    [
      'both selector and sets',
      {
        name: 'x',
        spec: { action: 'allow', from: [{ workloadSelector: {}, workloadSets: ['s'] }], to: [ALL] },
      },
      /exactly one of workloadSets or workloadSelector/,
    ],
    [
      'neither selector nor sets',
      { name: 'x', spec: { action: 'allow', from: [ALL], to: [{}] } },
      /spec\.to\[0\]: exactly one of/,
    ],
    [
      'workloadSets',
      { name: 'x', spec: { action: 'allow', from: [{ workloadSets: ['s'] }], to: [ALL] } },
      /workloadSets are not supported/,
    ],
    [
      'bad operator',
      {
        name: 'x',
        spec: {
          action: 'allow',
          from: [sel({ matchExpressions: [{ key: 'a', operator: 'Gt' as never }] })],
          to: [ALL],
        },
      },
      /spec\.from\[0\]\.workloadSelector\.matchExpressions\[0\]: operator "Gt" is not one of/,
    ],
    [
      'In without values',
      {
        name: 'x',
        spec: {
          action: 'allow',
          from: [ALL],
          to: [sel({ matchExpressions: [{ key: 'a', operator: 'In' }] })],
        },
      },
      /operator In needs at least one value/,
    ],
    [
      'NotIn with empty values',
      {
        name: 'x',
        spec: {
          action: 'allow',
          from: [ALL],
          to: [sel({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] })],
        },
      },
      /operator NotIn needs at least one value/,
    ],
    [
      'Exists with values',
      {
        name: 'x',
        spec: {
          action: 'allow',
          from: [ALL],
          to: [sel({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['v'] }] })],
        },
      },
      /operator Exists takes no values/,
    ],
    [
      'DoesNotExist with values',
      {
        name: 'x',
        spec: {
          action: 'allow',
          from: [ALL],
          to: [sel({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['v'] }] })],
        },
      },
      /operator DoesNotExist takes no values/,
    ],
    [
      'empty key',
      { name: 'x', spec: { action: 'allow', from: [sel({ matchLabels: { '': 'v' } })], to: [ALL] } },
      /key must be a non-empty string/,
    ],
    [
      'non-string label value',
      { name: 'x', spec: { action: 'allow', from: [sel({ matchLabels: { a: 1 as never } })], to: [ALL] } },
      /value must be a string/,
    ],
    [
      'selector not an object',
      { name: 'x', spec: { action: 'allow', from: [{ workloadSelector: 'app=web' }], to: [ALL] } },
      /workloadSelector: must be an object/,
    ],
    ['null policy', null, /policy must be an object/],
  ];

  test.each(cases)('%s is reported and ignored, never thrown', (_label, bad, message) => {
    const engine = new PolicyEngine([bad as PolicyObject, good]);
    expect(engine.invalid).toHaveLength(1);
    expect(engine.invalid[0].policy).toBe(bad);
    expect(engine.invalid[0].error).toMatch(message);
    expect(engine.size).toBe(1);
    expect(engine.decide(client(), {}, NS).policy?.name).toBe('good');
  });

  test('an invalid allow does not allow and an invalid deny does not deny', () => {
    const invalidAllow = { name: 'x', namespace: NS, spec: { action: 'allow', from: [ALL], to: [{}] } };
    expect(new PolicyEngine([invalidAllow as PolicyObject]).decide(client(), {}, NS)).toBe(DEFAULT_DENY);
    const invalidDeny = { name: 'y', spec: { action: 'deny', from: [{ workloadSets: ['x'] }], to: [ALL] } };
    expect(new PolicyEngine([invalidDeny as PolicyObject, good]).decide(client(), {}, NS).action).toBe(
      'allow',
    );
  });

  test('a duplicate policy (same kind, namespace and name) is reported; the first one counts', () => {
    const first = policy('same', 'allow', [ALL], [ALL], NS);
    const second = policy('same', 'deny', [ALL], [ALL], NS);
    const engine = new PolicyEngine([first, second]);
    expect(engine.invalid).toEqual([{ policy: second, error: expect.stringMatching(/duplicate/) }]);
    expect(engine.decide(client(), {}, NS).action).toBe('allow');
    // The same name as a privileged and a namespaced policy is not a duplicate.
    expect(new PolicyEngine([first, policy('same', 'deny', [ALL], [ALL])]).invalid).toEqual([]);
  });

  test('decide never throws on missing or odd attribute maps', () => {
    const engine = new PolicyEngine([policy('p', 'allow', [sel({ matchLabels: { a: 'b' } })], [ALL], NS)]);
    expect(() => engine.decide(undefined as never, undefined as never, NS)).not.toThrow();
    expect(engine.decide(undefined as never, undefined as never, NS)).toBe(DEFAULT_DENY);
    expect(engine.decide({ a: 5 } as never, {}, NS)).toBe(DEFAULT_DENY);
    expect(engine.decide(null as never, {}, undefined as never)).toBe(DEFAULT_DENY);
  });
});

describe('indexing does not change results', () => {
  // A random policy set, decided by the engine and by a direct scan of the same semantics.
  /** mulberry32: a small deterministic PRNG (32-bit integer arithmetic via Math.imul). */
  function seeded(seed: number) {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  test.each([42, 7, 2024])('engine agrees with a brute-force evaluation (seed %i)', (seed) => {
    const rand = seeded(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const keys = [EXPORT, PEER, 'export.clusterlink.net/namespace', CLIENT_APP, 'k'];
    const values = ['a', 'b', 'c'];
    const operators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
    // Narrow selectors always pin a value (see below).
    const randomSelector = (narrow: boolean): LabelSelector => {
      const selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } = {};
      if (narrow || rand() < 0.6) selector.matchLabels = { [pick(keys)]: pick(values) };
      if (rand() < 0.5) {
        const operator = pick(operators);
        selector.matchExpressions = [
          {
            key: pick(keys),
            operator,
            values: operator === 'In' || operator === 'NotIn' ? [pick(values), pick(values)] : undefined,
          },
        ];
      }
      return selector as LabelSelector;
    };
    const list = (narrow: boolean) =>
      Array.from({ length: 1 + Math.floor(rand() * 2) }, () => sel(randomSelector(narrow)));
    const policies: PolicyObject[] = Array.from({ length: 120 }, (_, i) => {
      const deny = rand() < 0.25;
      const privileged = rand() < 0.2;
      const narrow = deny || privileged; // broad ones would shadow every lower tier
      const namespace = privileged ? undefined : pick(['n1', 'n2']);
      return policy(`p${i}`, deny ? 'deny' : 'allow', list(narrow), list(narrow), namespace);
    });
    const engine = new PolicyEngine(policies);
    expect(engine.invalid).toEqual([]);

    const matchSelector = (s: LabelSelector, attrs: Attributes) =>
      Object.entries(s.matchLabels ?? {}).every(([k, v]) => attrs[k] === v) &&
      (s.matchExpressions ?? []).every((e) => {
        const has = Object.hasOwn(attrs, e.key);
        if (e.operator === 'In') return has && e.values!.includes(attrs[e.key]);
        if (e.operator === 'NotIn') return !has || !e.values!.includes(attrs[e.key]);
        if (e.operator === 'Exists') return has;
        return !has;
      });
    const matches = (p: PolicyObject, src: Attributes, dst: Attributes) =>
      p.spec.from.some((i) => matchSelector(i.workloadSelector!, src)) &&
      p.spec.to.some((i) => matchSelector(i.workloadSelector!, dst));
    const bruteForce = (src: Attributes, dst: Attributes, ns: string): string => {
      const tiers: [boolean, string][] = [
        [true, 'deny'],
        [true, 'allow'],
        [false, 'deny'],
        [false, 'allow'],
      ];
      for (const [privileged, action] of tiers) {
        const hit = policies.find(
          (p) =>
            (privileged ? p.namespace === undefined : p.namespace === ns) &&
            p.spec.action === action &&
            matches(p, src, dst),
        );
        if (hit) return `${action}:${hit.name}`;
      }
      return 'deny:-';
    };
    const randomAttrs = (): Record<string, string> => {
      const attrs: Record<string, string> = { [CLIENT_NS]: 'x' };
      for (const k of keys) if (rand() < 0.6) attrs[k] = pick(values);
      return attrs;
    };

    let allows = 0;
    const tiers = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const src = randomAttrs();
      const dst = randomAttrs();
      const ns = pick(['n1', 'n2', 'n3']);
      const decision = engine.decide(src, dst, ns);
      const expected = bruteForce(src, dst, ns);
      const [action] = expected.split(':');
      expect(decision.action).toBe(action);
      if (decision.policy) {
        // The reported policy must match, be in the right tier, and be the first such by name.
        const candidates = policies
          .filter((p) => p.spec.action === action && matches(p, src, dst))
          .filter((p) =>
            decision.policy!.kind === 'PrivilegedAccessPolicy'
              ? p.namespace === undefined
              : p.namespace === ns,
          )
          .map((p) => p.name)
          .sort();
        expect(decision.policy.name).toBe(candidates[0]);
      }
      if (decision.action === 'allow') allows++;
      tiers.add(decision.tier);
    }
    // The sample exercises both outcomes and every tier.
    expect(allows).toBeGreaterThan(100);
    expect(allows).toBeLessThan(2900);
    expect([...tiers].sort()).toEqual([
      'default-deny',
      'namespaced-allow',
      'namespaced-deny',
      'privileged-allow',
      'privileged-deny',
    ]);
  });
});

const UPSTREAM = path.join(__dirname, '../../integration/fixtures/upstream-manifests');

/** Policies of an upstream manifest file, as the control plane hands them to the engine. */
function loadPolicies(file: string): PolicyObject[] {
  return parseAllDocuments(readFileSync(path.join(UPSTREAM, file), 'utf8'))
    .map((doc) => doc.toJS() as { kind: string; metadata: { name: string; namespace?: string }; spec: never })
    .filter((object) => object?.kind?.endsWith('AccessPolicy'))
    .map((object) =>
      object.kind === 'PrivilegedAccessPolicy'
        ? { name: object.metadata.name, spec: object.spec }
        : { name: object.metadata.name, namespace: object.metadata.namespace, spec: object.spec },
    );
}

describe('upstream demo policies', () => {
  const files = {
    allow: 'demos__bookinfo__manifests__clusterlink__allow-policy.yaml',
    denyServer1: 'demos__bookinfo__manifests__clusterlink__deny-server1-policy.yaml',
    denyFromGw: 'demos__speedtest__testdata__policy__denyFromGw.yaml',
    denyToSpeedtest: 'demos__speedtest__testdata__policy__denyToSpeedtest.yaml',
  };

  test('every upstream policy manifest is valid', () => {
    const all = [
      ...Object.values(files),
      'demos__iperf3__testdata__manifests__clusterlink__allow-policy.yaml',
      'demos__nginx__testdata__clusterlink__allow-policy.yaml',
      'pkg__controlplane__authz__connectivitypdp__test_data__all_layers.yaml',
    ];
    for (const file of all) {
      const policies = loadPolicies(file);
      expect(policies.length).toBeGreaterThan(0);
      expect(new PolicyEngine(policies).invalid).toEqual([]);
    }
  });

  test('bookinfo: allow everything in default, except towards server1 (privileged deny)', () => {
    const engine = new PolicyEngine([...loadPolicies(files.allow), ...loadPolicies(files.denyServer1)]);
    const src = client({ [PEER]: 'client' });
    expect(engine.decide(src, { [EXPORT]: 'reviews', [PEER]: 'server2' }, 'default').action).toBe('allow');
    expect(engine.decide(src, { [EXPORT]: 'reviews', [PEER]: 'server1' }, 'default')).toMatchObject({
      action: 'deny',
      tier: 'privileged-deny',
      policy: { kind: 'PrivilegedAccessPolicy', name: 'deny-from-server1' },
    });
  });

  test('speedtest: firefox may not reach openspeedtest; peer3 may reach nothing', () => {
    const engine = new PolicyEngine([
      ...loadPolicies(files.allow),
      ...loadPolicies(files.denyFromGw),
      ...loadPolicies(files.denyToSpeedtest),
    ]);
    const speedtest = { [EXPORT]: 'openspeedtest' };
    const chrome = client({ [PEER]: 'peer1', [CLIENT_APP]: 'chrome' });
    const firefox = client({ [PEER]: 'peer1', [CLIENT_APP]: 'firefox' });
    expect(engine.decide(chrome, speedtest, 'default').action).toBe('allow');
    expect(engine.decide(firefox, speedtest, 'default')).toMatchObject({
      action: 'deny',
      policy: { name: 'deny-to-speedtest' },
    });
    expect(engine.decide(firefox, { [EXPORT]: 'other' }, 'default').action).toBe('allow');
    expect(engine.decide(client({ [PEER]: 'peer3' }), { [EXPORT]: 'other' }, 'default')).toMatchObject({
      action: 'deny',
      policy: { name: 'deny-from-gw' },
    });
    // An unidentified client: denied where the firefox rule could apply, allowed elsewhere.
    expect(engine.decide({ [PEER]: 'peer1' }, speedtest, 'default').tier).toBe('client-unidentified');
    expect(engine.decide({ [PEER]: 'peer1' }, { [EXPORT]: 'other' }, 'default').action).toBe('allow');
  });
});

describe('upstream test data (connectivitypdp all_layers.yaml)', () => {
  const load = () => loadPolicies('pkg__controlplane__authz__connectivitypdp__test_data__all_layers.yaml');
  // As in upstream's TestAllLayers: plain attribute keys, namespace "default".
  const trivial = { key: 'val' };
  const nonMetering = { workloadName: 'non-metering-service' };
  const metering = { workloadName: 'global-metering-service' };
  const prodMetering = { workloadName: 'global-metering-service', environment: 'prod' };
  const privateProd = { classification: 'private', environment: 'prod' };

  test('every layer decides what upstream decides', () => {
    const policies = load();
    expect(policies).toHaveLength(4);
    const engine = new PolicyEngine(policies);
    expect(engine.invalid).toEqual([]);
    expect(engine.decide(trivial, trivial, NS)).toBe(DEFAULT_DENY);
    expect(engine.decide(trivial, nonMetering, NS)).toMatchObject({
      action: 'allow',
      tier: 'namespaced-allow',
      policy: { name: 'allow-connecting-to-named_workloads' },
    });
    expect(engine.decide(trivial, metering, NS)).toMatchObject({
      action: 'deny',
      tier: 'namespaced-deny',
      policy: { name: 'deny-connecting-to-metering-service-on-some-ports' },
    });
    expect(engine.decide(trivial, prodMetering, NS)).toMatchObject({
      action: 'allow',
      tier: 'privileged-allow',
    });
    expect(engine.decide(privateProd, prodMetering, NS)).toMatchObject({
      action: 'deny',
      tier: 'privileged-deny',
      policy: { kind: 'PrivilegedAccessPolicy' },
    });
    // The namespaced layers do not apply in another namespace.
    expect(engine.decide(trivial, nonMetering, 'other')).toBe(DEFAULT_DENY);
  });

  test('removing layers from the top lets each lower layer decide, as upstream does', () => {
    let policies = load();
    const expected = [
      'privileged-deny',
      'privileged-allow',
      'namespaced-deny',
      'namespaced-allow',
      'default-deny',
    ];
    for (const tier of expected) {
      expect(new PolicyEngine(policies).decide(privateProd, prodMetering, NS).tier).toBe(tier);
      const decided = new PolicyEngine(policies).decide(privateProd, prodMetering, NS).policy;
      policies = policies.filter((p) => p.name !== decided?.name);
    }
  });
});
