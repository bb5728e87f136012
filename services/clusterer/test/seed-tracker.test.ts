import { SeedTracker } from '../src/domain/seed-tracker';

describe('SeedTracker', () => {
  it('knows candidates from registrations and seed updates, and ignores stale versions', () => {
    const t = new SeedTracker();
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
    const t = new SeedTracker();
    t.seedsUpdated('a', 99, 99);
    expect(() => t.requireClusterable('a', 100)).toThrow("candidate 'a' has 99 seeds; clustering starts at 100");
    t.seedsUpdated('a', 100, 100);
    expect(t.requireClusterable('a', 100).seedCount).toBe(100);
    t.retired('a');
    expect(() => t.requireClusterable('a', 100)).toThrow("candidate 'a' is retired");
  });
});
