import { synthesize, type Dataset } from '@ralm/data';
import { Rng } from '@ralm/model';
import { fitLogisticRegressionPerCandidate, logisticRegressionPerCandidate } from '../src/competitors/lr';
import { binaryUserFeatures, scoreSparseLinear, type SparseItemModel } from '../src/features';
import { auc } from '../src/metrics';
import { itemsBySeedCount, splitByTime, testSamples } from '../src/split';

function usersOnly(): Dataset {
  return {
    schema: {
      fields: [
        { name: 'tags', kind: 'multivalent' },
        { name: 'region', kind: 'univalent' },
        { name: 'age', kind: 'continuous' },
      ],
    },
    users: {
      ids: ['a', 'b', 'c', 'd', 'e', 'f'],
      fields: new Map([
        ['tags', { kind: 'multivalent' as const, values: [['x', 'y'], ['y', 'y'], [], ['z'], ['x'], ['new']] }],
        ['region', { kind: 'univalent' as const, values: ['n', 's', '', 'n', 's', 'w'] }],
        ['age', { kind: 'continuous' as const, values: Float64Array.from([10, 20, 30, 40, Number.NaN, 99]) }],
      ]),
    },
    items: { ids: [], category: [], tags: [] },
    events: { user: new Int32Array(0), item: new Int32Array(0), timestamp: new Float64Array(0), label: new Uint8Array(0) },
    fingerprint: 'sha256:test',
  };
}

describe('binaryUserFeatures', () => {
  // Users 0–4 train; user 5 only appears at test time.
  const features = binaryUserFeatures(usersOnly(), [0, 1, 2, 3, 4], { bins: 2 });

  it('one-hots categorical values seen in train users, in schema then value order', () => {
    // Age train values 10, 20, 30, 40 → one edge at the ⌊4/2⌋-th = 30.
    expect(features.names).toEqual(['tags=x', 'tags=y', 'tags=z', 'region=n', 'region=s', 'age<30', 'age≥30']);
    expect(features.size).toBe(7);
  });

  it('gives each user its sorted active ids, dropping unseen values and missing ones', () => {
    expect(features.rows.map((r) => [...r])).toEqual([
      [0, 1, 3, 5], // x, y, n, age 10
      [1, 4, 5], // y (once), s, age 20
      [6], // nothing but age 30 (an edge belongs to the bin above)
      [2, 3, 6],
      [0, 4], // age missing
      [6], // 'new' and 'w' unseen in train; age 99 falls in the top bin
    ]);
  });

  it('uses five quantile bins by default and collapses repeated edges', () => {
    const d = usersOnly();
    d.users.fields.set('age', { kind: 'continuous', values: Float64Array.from([1, 1, 1, 1, 2, 3]) });
    const f = binaryUserFeatures(d, [0, 1, 2, 3, 4, 5]);
    // Quantile positions ⌊6j/5⌋ = 1, 2, 3, 4 → values 1, 1, 1, 2: edges at the minimum drop, leaving one.
    expect(f.names.filter((n) => n.startsWith('age'))).toEqual(['age<2', 'age≥2']);
  });
});

describe('scoreSparseLinear', () => {
  it('agrees with a dense dot product over a seeded grid, in any pair order', () => {
    const dataset = synthesize({ users: 300, items: 5, seed: 2 });
    const features = binaryUserFeatures(dataset, Int32Array.from({ length: 200 }, (_, u) => u));
    const rng = new Rng(5);
    const dense: Float32Array[] = [];
    const models: Array<SparseItemModel | undefined> = [];
    for (let i = 0; i < 5; i++) {
      const w = Float32Array.from({ length: features.size }, () => (rng.next() < 0.5 ? 0 : rng.normal()));
      dense.push(w);
      const ids = Int32Array.from(w.keys()).filter((f) => w[f] !== 0);
      models.push(i === 3 ? undefined : { bias: i, features: ids, weights: Float32Array.from(ids, (f) => w[f]!) });
    }
    const users = Int32Array.from({ length: 1000 }, () => rng.int(300));
    const items = Int32Array.from({ length: 1000 }, () => rng.int(5));
    const scores = scoreSparseLinear(features, models, users, items, -7);
    for (let p = 0; p < 1000; p++) {
      const i = items[p]!;
      let expected = i === 3 ? -7 : i;
      if (i !== 3) for (const f of features.rows[users[p]!]!) expected += dense[i]![f]!;
      expect(scores[p]).toBeCloseTo(expected, 4);
    }
    expect(() => scoreSparseLinear(features, models, Int32Array.of(300), Int32Array.of(0))).toThrow(RangeError);
  });
});

describe('logisticRegressionPerCandidate', () => {
  const dataset = synthesize({ users: 3000, items: 200, seed: 1 });
  const split = splitByTime(dataset);
  const samples = testSamples(split);

  it('fits in a few seconds and ranks test clicks above exposures', async () => {
    const started = Date.now();
    const model = await fitLogisticRegressionPerCandidate(split, { seed: 1 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(model.name).toBe('LR');
    expect(model.trainedItems).toBe(itemsBySeedCount(split.trainSeeds).length);
    expect(model.skippedItems).toBe(0);
    const value = auc(model.score(samples.users, samples.items), samples.labels);
    expect(value).toBeGreaterThan(0.55);
  });

  it('is deterministic for a seed and depends on it', async () => {
    const a = await logisticRegressionPerCandidate(split, { seed: 4 });
    const b = await logisticRegressionPerCandidate(split, { seed: 4 });
    const c = await logisticRegressionPerCandidate(split, { seed: 5 });
    const users = samples.users.subarray(0, 2000);
    const items = samples.items.subarray(0, 2000);
    expect(b.score(users, items)).toEqual(a.score(users, items));
    expect(c.score(users, items)).not.toEqual(a.score(users, items));
  });

  it('learns a feature that marks the seeds', async () => {
    // Item 0's seeds are exactly the users with region n; everyone else clicks item 1.
    const rows: Array<[number, number, number, 0 | 1]> = [];
    const regions: string[] = [];
    for (let u = 0; u < 200; u++) {
      regions.push(u % 4 === 0 ? 'n' : `r${u % 7}`);
      rows.push([u, u % 4 === 0 ? 0 : 1, u, 1]);
    }
    rows.push([0, 0, 1000, 1]);
    const d: Dataset = {
      schema: { fields: [{ name: 'region', kind: 'univalent' }] },
      users: { ids: regions.map((_, u) => `u${u}`), fields: new Map([['region', { kind: 'univalent', values: regions }]]) },
      items: { ids: ['i0', 'i1', 'i2'], category: ['c', 'c', 'c'], tags: [[], [], []] },
      events: {
        user: Int32Array.from(rows, (r) => r[0]),
        item: Int32Array.from(rows, (r) => r[1]),
        timestamp: Float64Array.from(rows, (r) => r[2]),
        label: Uint8Array.from(rows, (r) => r[3]),
      },
      fingerprint: 'sha256:test',
    };
    const s = splitByTime(d, { testFraction: 0.004 });
    const model = await fitLogisticRegressionPerCandidate(s, { seed: 1 });
    const [seedLike, other, noModel] = model.score(Int32Array.of(4, 5, 4), Int32Array.of(0, 0, 2));
    expect(seedLike).toBeGreaterThan(1);
    expect(other).toBeLessThan(-1);
    expect(noModel).toBe(0);
  });

  it('honours the time budget, most-seeded items first, the rest scoring 0', async () => {
    const model = await fitLogisticRegressionPerCandidate(split, { seed: 1, budgetMs: 0 });
    const seeded = itemsBySeedCount(split.trainSeeds);
    expect(model.trainedItems + model.skippedItems).toBe(seeded.length);
    expect(model.trainedItems).toBeLessThan(seeded.length);
    const skipped = seeded.subarray(model.trainedItems);
    const scores = model.score(new Int32Array(skipped.length), skipped);
    expect(scores.every((x) => x === 0)).toBe(true);
  });
});
