import { SeedTracker } from '../src/domain/seed-tracker';

const MIN = 100;
const INTERVAL = 300_000;
const tracker = () => new SeedTracker({ minSeeds: MIN, intervalMs: INTERVAL, growthFraction: 0.5 });
const stamp = (seedVersion: number, seedCount: number, computedAtMs: number, modelVersion = 'm1', clusterVersion = 1) => ({ clusterVersion, seedVersion, seedCount, modelVersion, computedAtMs });

describe('SeedTracker', () => {
  it('knows candidates from registrations and seed updates, and ignores stale versions', () => {
    const t = tracker();
    expect(() => t.get('a')).toThrow(expect.objectContaining({ name: 'NotFoundError' }));
    t.registered('a');
    expect(t.get('a')).toEqual({ candidateId: 'a', active: true, seedCount: 0, seedVersion: 0 });
    t.seedsUpdated('a', 150, 9);
    t.seedsUpdated('a', 120, 7); // a redelivered older announcement
    expect(t.get('a')).toMatchObject({ seedCount: 150, seedVersion: 9 });
    t.seedsUpdated('b', 3, 3); // seeds can arrive before the registration event
    expect(t.get('b').active).toBe(true);
  });

  it('says why a candidate cannot be clustered', () => {
    const t = tracker();
    t.seedsUpdated('a', 99, 99);
    expect(() => t.requireClusterable('a')).toThrow("candidate 'a' has 99 seeds; clustering starts at 100");
    t.seedsUpdated('a', 100, 100);
    expect(t.requireClusterable('a').seedCount).toBe(100);
    t.retired('a');
    expect(() => t.requireClusterable('a')).toThrow("candidate 'a' is retired");
  });

  it('clusters at once on reaching the minimum seeds, never below it, and never a retired candidate', () => {
    const t = tracker();
    t.seedsUpdated('a', MIN - 1, 99);
    expect(t.due('a', 0)).toBeUndefined();
    t.seedsUpdated('a', MIN, 100);
    expect(t.due('a', 0)).toBe('first');
    t.retired('a');
    expect(t.due('a', 0)).toBeUndefined();
  });

  it('re-clusters on the schedule when seeds changed, sooner when they grew by the fraction, and skips unchanged seeds', () => {
    const t = tracker();
    t.modelVersion = 'm1';
    t.seedsUpdated('a', 200, 10);
    t.clustered('a', stamp(10, 200, 1000));
    expect(t.due('a', 1000 + 10 * INTERVAL)).toBeUndefined(); // unchanged seeds: never, however long
    t.seedsUpdated('a', 210, 11);
    expect(t.due('a', 1000 + INTERVAL - 1)).toBeUndefined();
    expect(t.due('a', 1000 + INTERVAL)).toBe('schedule');
    t.seedsUpdated('a', 300, 40); // 200 × 1.5
    expect(t.due('a', 1001)).toBe('growth');
    t.modelVersion = 'm2';
    expect(t.due('a', 1001)).toBe('model');
  });

  it('orders due work: first clusterings, then model changes, growth, schedule; smallest first within a reason', () => {
    const t = tracker();
    t.modelVersion = 'm1';
    t.seedsUpdated('sched', 200, 11);
    t.clustered('sched', stamp(10, 200, 0));
    t.seedsUpdated('grow', 400, 20);
    t.clustered('grow', stamp(10, 200, 0));
    t.seedsUpdated('big-new', 5000, 5000);
    t.seedsUpdated('small-new', 100, 100);
    t.seedsUpdated('old-model', 150, 3);
    t.clustered('old-model', stamp(3, 150, 0, 'm0'));
    t.seedsUpdated('quiet', 20, 20);
    expect(t.dueCandidates(INTERVAL).map((d) => `${d.reason}:${d.candidateId}`)).toEqual([
      'first:small-new',
      'first:big-new',
      'model:old-model',
      'growth:grow',
      'schedule:sched',
    ]);
  });

  it('keeps the newest clustering when an older one is recorded late', () => {
    const t = tracker();
    t.clustered('a', stamp(5, 150, 10, 'm1', 2));
    t.clustered('a', stamp(4, 120, 5, 'm1', 1));
    expect(t.get('a').clustered).toMatchObject({ clusterVersion: 2, seedVersion: 5 });
    expect(t.get('a')).toMatchObject({ seedVersion: 5, seedCount: 150 });
  });
});
