import { createLogger } from '@ralm/platform';
import { ModelStates } from '../src/model-states';
import type { ScoringState } from '../src/scoring-state';
import { ScoringTable } from '../src/domain/scoring-table';

/** A state with only what ModelStates reads: its version, its table and the complete flag. */
function state(version: string, candidates: string[]): ScoringState {
  const table = new ScoringTable(1, 1, false);
  const rows = { es: new Float32Array(1), projected: new Float32Array(1), gram: new Float32Array(1), globalUnit: new Float32Array(1), mask: [1], sizes: [100], globalWeights: [1], clusterVersion: 1, seedCount: 100 };
  for (const id of candidates) table.put(id, rows);
  return { version, table, complete: false, deferred: new Set<string>() } as unknown as ScoringState;
}

describe('ModelStates', () => {
  const setup = () => {
    const retired: string[] = [];
    const promoted: Array<[string, string]> = [];
    const states = new ModelStates({ logger: createLogger('test', 'silent'), retire: (s) => retired.push(s.version), promoted: (s, outcome) => promoted.push([s.version, outcome]) });
    return { states, retired, promoted };
  };

  it('makes the first model active at once, and keeps it active while the next one fills', () => {
    const { states, retired } = setup();
    const a = state('a', ['x', 'y']);
    states.loaded(a);
    expect(states.active).toBe(a);
    const b = state('b', []);
    states.loaded(b);
    expect(states.active).toBe(a);
    expect(states.next).toBe(b);
    expect(states.stateFor('b')).toBe(b);
    expect(states.stateFor('a')).toBe(a);
    expect(retired).toEqual([]);
  });

  it('swaps in the next state only when it is complete, then retires the previous one', () => {
    const { states, retired, promoted } = setup();
    const a = state('a', ['x']);
    states.loaded(a);
    states.completed(a, 'complete');
    expect(states.active).toBe(a);
    expect(promoted).toEqual([]); // restoring the first table is not a rollout
    const b = state('b', ['x']);
    states.loaded(b);
    states.completed(b, 'complete');
    expect(states.active).toBe(b);
    expect(states.next).toBeUndefined();
    expect(states.holds(a)).toBe(false);
    expect(retired).toEqual(['a']);
    expect(promoted).toEqual([['b', 'complete']]);
  });

  it('retires a next state superseded by a newer model before it was complete, and never serves it', () => {
    const { states, retired } = setup();
    states.loaded(state('a', ['x']));
    const b = state('b', []);
    states.loaded(b);
    const c = state('c', []);
    states.loaded(c);
    expect(retired).toEqual(['b']);
    expect(states.holds(b)).toBe(false);
    states.completed(b, 'complete'); // a late completion of the superseded one changes nothing
    expect(states.active?.version).toBe('a');
    states.completed(c, 'timeout');
    expect(states.active).toBe(c);
  });
});
