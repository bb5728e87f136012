import { ArmAssigner, bucketOf, parseArms } from '@ralm/experiment';

const experiment = (arms: string, salt = 'exp-2026') => new ArmAssigner({ id: 'ralm', salt, arms: parseArms(arms) });

describe('parseArms', () => {
  it('normalises relative weights', () => {
    expect(parseArms('control:1,treatment:3')).toEqual([
      { name: 'control', share: 0.25 },
      { name: 'treatment', share: 0.75 },
    ]);
    expect(parseArms(' control : 50 , treatment:50 ')).toEqual(parseArms('control:1,treatment:1'));
  });

  it.each([
    ['', /got nothing/],
    ['control', /not name:weight/],
    ['control:50,Treatment:50', /must match/],
    ['control:50,control:50', /duplicate/],
    ['control:0,treatment:0', /weight 0/],
    ['control:1,treatment:0', /'treatment' has weight 0/],
    ['a:50,b:50', /named 'control'/],
    ['control:-1,treatment:2', /not name:weight/],
  ])('refuses %j', (spec, why) => {
    expect(() => parseArms(spec)).toThrow(why);
  });
});

describe('ArmAssigner', () => {
  it('hashes exactly as documented: the first 4 bytes of SHA-256("salt:user") over 2^32', () => {
    // Computed independently with Python's hashlib, so upstream systems can reproduce it.
    expect(bucketOf('exp-2026', 'u42')).toBe(396969536 / 2 ** 32);
    expect(bucketOf('salt', 'alice')).toBe(699406435 / 2 ** 32);
  });

  it('splits 10^6 ids within 1% of the configured shares, the same way every time', () => {
    const a = experiment('control:50,treatment:30,holdout:20');
    const again = experiment('control:5,treatment:3,holdout:2');
    const counts = new Map<string, number>();
    let disagreements = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const id = `user-${i}`;
      const arm = a.assign(id);
      counts.set(arm, (counts.get(arm) ?? 0) + 1);
      if (i % 10 === 0 && again.assign(id) !== arm) disagreements++;
    }
    expect(disagreements).toBe(0);
    for (const { name, share } of a.config.arms) {
      const observed = counts.get(name)! / 1_000_000;
      expect(Math.abs(observed - share)).toBeLessThan(0.01 * share);
    }
  });

  it('growing the treatment share only moves control users into treatment', () => {
    const before = experiment('control:60,treatment:40');
    const after = experiment('control:50,treatment:50');
    let moved = 0;
    for (let i = 0; i < 20_000; i++) {
      const id = `u${i}`;
      const [b, c] = [before.assign(id), after.assign(id)];
      if (b === 'treatment') expect(c).toBe('treatment');
      if (b !== c) moved++;
    }
    // About the 10 % of buckets in [0.5, 0.6).
    expect(moved / 20_000).toBeGreaterThan(0.08);
    expect(moved / 20_000).toBeLessThan(0.12);
  });

  it('a new salt re-randomises', () => {
    const a = experiment('control:1,treatment:1', 'one');
    const b = experiment('control:1,treatment:1', 'two');
    let same = 0;
    for (let i = 0; i < 20_000; i++) if (a.assign(`u${i}`) === b.assign(`u${i}`)) same++;
    expect(same / 20_000).toBeGreaterThan(0.47);
    expect(same / 20_000).toBeLessThan(0.53);
  });

  it('a single control arm takes everybody', () => {
    const a = experiment('control:1');
    for (let i = 0; i < 1000; i++) expect(a.assign(`u${i}`)).toBe('control');
  });
});
