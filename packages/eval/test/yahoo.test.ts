import { synthesize } from '@ralm/data';
import { YAHOO_CLUSTER_BONUS, fitYahooLookalike, informationValue, yahooLookalike } from '../src/competitors/yahoo';
import { auc } from '../src/metrics';
import { itemsBySeedCount, splitByTime, testSamples, trainUsersOf } from '../src/split';

describe('informationValue', () => {
  it('matches a hand-computed 2×2 table with +0.5 smoothing', () => {
    // 6 of 10 seeds and 9 of 90 non-seeds have the feature:
    // p₁ = 6.5/11, p₀ = 4.5/11, q₁ = 9.5/91, q₀ = 81.5/91;
    // WoE₁ = ln(p₁/q₁) = 1.733475, WoE₀ = ln(p₀/q₀) = −0.783561;
    // IV = (p₁ − q₁)·WoE₁ + (p₀ − q₀)·WoE₀ = 1.224572.
    const v = informationValue(6, 10, 9, 90);
    expect(v.woeActive).toBeCloseTo(1.7334746120135758, 12);
    expect(v.woeInactive).toBeCloseTo(-0.7835613897520634, 12);
    expect(v.iv).toBeCloseTo(1.2245719608989674, 12);
  });

  it('is zero for the same distribution and positive otherwise', () => {
    expect(informationValue(5, 10, 5, 10).iv).toBe(0);
    expect(informationValue(0, 10, 10, 10).iv).toBeGreaterThan(0.5);
    // Smoothing keeps an empty cell finite.
    expect(Number.isFinite(informationValue(0, 3, 50, 50).woeActive)).toBe(true);
  });
});

describe('yahooLookalike', () => {
  const dataset = synthesize({ users: 3000, items: 200, seed: 1 });
  const split = splitByTime(dataset);
  const samples = testSamples(split);

  it('fits in a few seconds and ranks test clicks above exposures', async () => {
    const started = Date.now();
    const model = await fitYahooLookalike(split, { seed: 1 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(model.trainedItems).toBe(itemsBySeedCount(split.trainSeeds).length);
    expect(model.meanKeptFeatures).toBeGreaterThanOrEqual(5);
    expect(auc(model.score(samples.users, samples.items), samples.labels)).toBeGreaterThan(0.55);
  });

  it('ranks every candidate-cluster user above every other user of an item', async () => {
    const model = await fitYahooLookalike(split, { seed: 1 });
    const users = trainUsersOf(split);
    const item = itemsBySeedCount(split.trainSeeds)[0]!;
    const scores = model.score(users, new Int32Array(users.length).fill(item));
    const seedClusters = new Set(Array.from(split.trainSeeds[item]!, (u) => model.clusterOf[u]!));
    let inside = Infinity;
    let outside = -Infinity;
    let nInside = 0;
    scores.forEach((s, j) => {
      if (s >= YAHOO_CLUSTER_BONUS / 2) {
        nInside++;
        inside = Math.min(inside, s);
        expect(seedClusters.has(model.clusterOf[users[j]!]!)).toBe(true); // lift ≥ 1 needs a seed in the cluster
      } else outside = Math.max(outside, s);
    });
    expect(nInside).toBeGreaterThan(0);
    expect(nInside).toBeLessThan(users.length);
    expect(inside).toBeGreaterThan(outside);
  });

  it('keeps the top 5 features when none passes the IV threshold', async () => {
    const model = await fitYahooLookalike(split, { seed: 1 }, { ivThreshold: Infinity });
    expect(model.meanKeptFeatures).toBe(5);
  });

  it('is deterministic for a seed and depends on it', async () => {
    const a = await yahooLookalike(split, { seed: 4 });
    const b = await yahooLookalike(split, { seed: 4 });
    const c = await fitYahooLookalike(split, { seed: 5 });
    const users = samples.users.subarray(0, 2000);
    const items = samples.items.subarray(0, 2000);
    expect(b.score(users, items)).toEqual(a.score(users, items));
    expect(c.clusterOf).not.toEqual((a as typeof c).clusterOf);
  });

  it('honours the time budget, the rest scoring 0', async () => {
    const model = await fitYahooLookalike(split, { seed: 1, budgetMs: 0 });
    const seeded = itemsBySeedCount(split.trainSeeds);
    expect(model.trainedItems + model.skippedItems).toBe(seeded.length);
    expect(model.trainedItems).toBeLessThan(seeded.length);
    const skipped = seeded.subarray(model.trainedItems);
    expect(model.score(new Int32Array(skipped.length), skipped).every((x) => x === 0)).toBe(true);
  });
});
