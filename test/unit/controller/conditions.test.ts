import { conditionTransitions, sameConditions, setCondition } from '../../../controller/reconcile/conditions';

const t1 = new Date('2024-01-01T00:00:00.000Z');
const t2 = new Date('2024-01-01T00:05:00.000Z');
const ok = { type: 'ExportValid', status: 'True' as const, reason: 'ServiceFound', message: 'm' };

describe('conditions', () => {
  it('sets a new condition with observedGeneration and a transition time', () => {
    expect(setCondition(undefined, ok, 3, t1)).toEqual([
      { ...ok, observedGeneration: 3, lastTransitionTime: '2024-01-01T00:00:00Z' },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, moves it when the status changes', () => {
    const first = setCondition(undefined, ok, 1, t1);
    const same = setCondition(first, { ...ok, message: 'other' }, 2, t2);
    expect(same[0]).toMatchObject({
      lastTransitionTime: '2024-01-01T00:00:00Z',
      message: 'other',
      observedGeneration: 2,
    });
    const changed = setCondition(first, { ...ok, status: 'False', reason: 'ServiceNotFound' }, 2, t2);
    expect(changed[0]!.lastTransitionTime).toBe('2024-01-01T00:05:00Z');
  });

  it('leaves other condition types alone', () => {
    const a = setCondition(undefined, ok, 1, t1);
    const b = setCondition(a, { ...ok, type: 'Other' }, 1, t1);
    expect(b.map((c) => c.type)).toEqual(['ExportValid', 'Other']);
  });

  it('compares ignoring order and transition time', () => {
    const a = setCondition(setCondition(undefined, ok, 1, t1), { ...ok, type: 'B' }, 1, t1);
    const b = setCondition(setCondition(undefined, { ...ok, type: 'B' }, 1, t2), ok, 1, t2);
    expect(sameConditions(a, b)).toBe(true);
    expect(sameConditions(a, setCondition(b, { ...ok, message: 'x' }, 1, t2))).toBe(false);
    expect(sameConditions(a, setCondition(b, ok, 2, t2))).toBe(false);
    expect(sameConditions(undefined, [])).toBe(true);
  });

  it('reports transitions of status or reason only', () => {
    const before = setCondition(undefined, ok, 1, t1);
    expect(conditionTransitions(before, setCondition(before, { ...ok, message: 'y' }, 1, t2))).toEqual([]);
    expect(
      conditionTransitions(before, setCondition(before, { ...ok, reason: 'HostSet' }, 1, t2)),
    ).toHaveLength(1);
    // A condition that starts out True is the normal path: no Event; one that starts False is news.
    expect(conditionTransitions(undefined, before)).toHaveLength(0);
    expect(
      conditionTransitions(undefined, setCondition(undefined, { ...ok, status: 'False' }, 1, t1)),
    ).toHaveLength(1);
  });
});
