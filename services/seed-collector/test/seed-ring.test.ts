/**
 * The compact seed ring against its oracle, RecencySet (the Map-based latest-N set the
 * seed book used before): the same members, the same order, the same evictions, for
 * random click streams with repeats, at caps from 1 to thousands.
 */
import fc from 'fast-check';
import { RecencySet } from '../src/domain/recency-set';
import { SeedRing } from '../src/domain/seed-ring';
import { UserDictionary } from '../src/domain/user-dictionary';

function replay(cap: number, users: number[]) {
  const ring = new SeedRing(cap);
  const oracle = new RecencySet<number>(cap);
  const evicted: number[] = [];
  const expected: number[] = [];
  for (const u of users) {
    const e = ring.touch(u);
    if (e !== -1) evicted.push(e);
    expected.push(...oracle.touch(u));
  }
  expect(evicted).toEqual(expected);
  return { ring, oracle };
}

describe('SeedRing', () => {
  it('keeps the latest distinct users in order, evicting exactly as the oracle does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 3000 }), (cap, users) => {
        const { ring, oracle } = replay(cap, users);
        expect(ring.size).toBe(oracle.size);
        expect([...ring.oldestFirst()]).toEqual([...oracle.keys()]);
        expect(ring.newest(7)).toEqual(oracle.newest(7));
        for (const u of [0, 1, 250, 499]) expect(ring.has(u)).toBe(oracle.has(u));
      }),
      { numRuns: 300 },
    );
  });

  it('stays compact under heavy repeats and churn at a large cap', () => {
    const cap = 20_000;
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const users = Array.from({ length: 200_000 }, () => Math.floor(rand() ** 2 * 60_000));
    const { ring, oracle } = replay(cap, users);
    expect([...ring.oldestFirst()]).toEqual([...oracle.keys()]);
    // Ring ≤ 1.25 × cap slots and a table at ≥ 3/8 load: about 10 bytes per seed, never more than 16.
    expect(ring.bytes / ring.size).toBeLessThanOrEqual(16);
  });

  it('rebuilds from a list, oldest first, keeping the newest past the cap', () => {
    const evicted: number[] = [];
    const ring = SeedRing.from([1, 2, 3, 2, 4, 5], 3, (u) => evicted.push(u));
    expect([...ring.oldestFirst()]).toEqual([2, 4, 5]);
    expect(evicted).toEqual([1, 3]);
  });
});

describe('UserDictionary', () => {
  it('reuses the index of a user no ring holds any more, and keeps those still held', () => {
    const users = new UserDictionary();
    const a = users.intern('a');
    const b = users.intern('b');
    users.retain(a);
    users.retain(a);
    users.retain(b);
    users.release(b);
    expect(users.find('b')).toBeUndefined();
    const c = users.intern('c');
    expect(c).toBe(b);
    expect(users.userId(c)).toBe('c');
    users.release(a);
    expect(users.find('a')).toBe(a);
    users.release(a);
    expect(users.find('a')).toBeUndefined();
    const d = users.intern('d');
    users.releaseIfUnused(d);
    expect(users.find('d')).toBeUndefined();
  });
});
