import { synthesize, type Dataset } from '@ralm/data';
import { itemsBySeedCount, readsByUser, splitByTime, testSamples, trainUsersOf } from '../src/split';

/** A tiny dataset from (user, item, timestamp, label) rows; users u0…, items i0…. */
function handmade(nUsers: number, nItems: number, rows: Array<[number, number, number, 0 | 1]>): Dataset {
  return {
    schema: { fields: [] },
    users: { ids: Array.from({ length: nUsers }, (_, u) => `u${u}`), fields: new Map() },
    items: { ids: Array.from({ length: nItems }, (_, i) => `i${i}`), category: new Array(nItems).fill('c'), tags: Array.from({ length: nItems }, () => []) },
    events: {
      user: Int32Array.from(rows, (r) => r[0]),
      item: Int32Array.from(rows, (r) => r[1]),
      timestamp: Float64Array.from(rows, (r) => r[2]),
      label: Uint8Array.from(rows, (r) => r[3]),
    },
    fingerprint: 'sha256:test',
  };
}

describe('splitByTime on a hand-made log', () => {
  // Ten events at t = 1 … 10, listed out of time order on purpose.
  const dataset = handmade(5, 4, [
    [0, 0, 1, 1],
    [1, 0, 2, 1],
    [0, 0, 3, 1], // a repeat click: still one seed
    [2, 1, 4, 0],
    [3, 1, 5, 1],
    [4, 2, 10, 1], // item 2: clicked only in test → no seeds
    [2, 0, 6, 0],
    [1, 3, 7, 0], // item 3: exposure only → no seeds
    [4, 0, 9, 1],
    [2, 2, 8, 0],
  ]);
  // testFraction 0.3: cutoff = the ⌊10·0.7⌋ = 7th smallest (0-based) timestamp = 8, so t = 8, 9, 10 test.
  const split = splitByTime(dataset, { testFraction: 0.3 });

  it('puts the later events in test and keeps event order', () => {
    expect(split.cutoff).toBe(8);
    expect([...split.testEvents]).toEqual([5, 8, 9]);
    expect([...split.trainEvents]).toEqual([0, 1, 2, 3, 4, 6, 7]);
  });

  it('takes seeds from train clicks only, distinct and sorted', () => {
    expect(split.trainSeeds.map((s) => [...s])).toEqual([[0, 1], [3], [], []]);
    expect([...trainUsersOf(split)]).toEqual([0, 1, 2, 3]);
    expect([...itemsBySeedCount(split.trainSeeds)]).toEqual([0, 1]);
  });

  it('drops test events of items without seeds and says how many', () => {
    const samples = testSamples(split);
    expect([...samples.users]).toEqual([4]);
    expect([...samples.items]).toEqual([0]);
    expect([...samples.labels]).toEqual([1]);
    expect(samples.droppedEvents).toBe(2);
    expect(samples.droppedItems).toBe(1);
    expect(readsByUser(split)).toEqual(new Map([[4, new Set([0])]]));
  });

  it('never splits a timestamp', () => {
    const ties = handmade(2, 1, [
      [0, 0, 1, 1],
      [1, 0, 5, 1],
      [0, 0, 5, 0],
      [1, 0, 5, 1],
    ]);
    const s = splitByTime(ties, { testFraction: 0.25 });
    expect(s.cutoff).toBe(5);
    expect([...s.trainEvents]).toEqual([0]);
    expect([...s.testEvents]).toEqual([1, 2, 3]);
  });

  it('keeps exposure-only test users with an empty read set', () => {
    const d = handmade(3, 1, [
      [0, 0, 1, 1],
      [1, 0, 9, 0],
      [2, 0, 9, 1],
    ]);
    expect(readsByUser(splitByTime(d, { testFraction: 0.5 }))).toEqual(
      new Map([
        [1, new Set()],
        [2, new Set([0])],
      ]),
    );
  });

  it('rejects a test fraction outside (0, 1) and an empty log', () => {
    expect(() => splitByTime(dataset, { testFraction: 0 })).toThrow(RangeError);
    expect(() => splitByTime(dataset, { testFraction: 1 })).toThrow(RangeError);
    expect(() => splitByTime(handmade(1, 1, []))).toThrow(RangeError);
  });
});

describe('splitByTime on synthetic data', () => {
  const dataset = synthesize({ users: 2000, items: 100, seed: 3 });
  const split = splitByTime(dataset);
  const { timestamp, user, item, label } = dataset.events;

  it('holds out about a fifth of the events, all at or after the cutoff', () => {
    const n = timestamp.length;
    expect(split.trainEvents.length + split.testEvents.length).toBe(n);
    expect(split.testEvents.length / n).toBeGreaterThanOrEqual(0.2);
    expect(split.testEvents.length / n).toBeLessThan(0.201);
    let latestTrain = -Infinity;
    let earliestTest = Infinity;
    for (const e of split.trainEvents) latestTrain = Math.max(latestTrain, timestamp[e]!);
    for (const e of split.testEvents) earliestTest = Math.min(earliestTest, timestamp[e]!);
    expect(latestTrain).toBeLessThan(split.cutoff);
    expect(earliestTest).toBe(split.cutoff);
  });

  it('has every seed click in train, and every train click among the seeds', () => {
    const trainClicks = new Set<string>();
    for (const e of split.trainEvents) if (label[e] === 1) trainClicks.add(`${user[e]}:${item[e]}`);
    const seeds = new Set<string>();
    split.trainSeeds.forEach((s, i) => s.forEach((u) => seeds.add(`${u}:${i}`)));
    expect(seeds).toEqual(trainClicks);
  });

  it('is deterministic', () => {
    const again = splitByTime(dataset);
    expect(again.cutoff).toBe(split.cutoff);
    expect(again.testEvents).toEqual(split.testEvents);
    expect(again.trainSeeds).toEqual(split.trainSeeds);
  });

  it('accounts for every test event as kept or dropped', () => {
    const samples = testSamples(split);
    expect(samples.users.length + samples.droppedEvents).toBe(split.testEvents.length);
    for (const i of samples.items) expect(split.trainSeeds[i]!.length).toBeGreaterThan(0);
    let clicks = 0;
    for (const l of samples.labels) clicks += l;
    let reads = 0;
    for (const set of readsByUser(split).values()) reads += set.size;
    expect(reads).toBeLessThanOrEqual(clicks); // a user may click the same item twice
    expect(reads).toBeGreaterThan(0);
  });
});
