import { ctr, DIVERSITY_TOP, diversityDistribution, exactMeasures, gini, relativeChange, type FeedbackEvent } from '@ralm/experiment';

describe('gini', () => {
  it.each([
    [[1, 1, 1, 1], 0],
    [[0, 0], 0],
    [[0, 0, 0, 4], 0.75], // 6 ordered pairs differ by 4: 24 / (2 · 16 · 1)
    [[1, 2, 3], 8 / 36], // |1−2| + |1−3| + |2−3| = 4, twice, over 2 · 9 · 2
    [[3, 1, 2], 8 / 36],
    [[5], 0],
  ])('of %j is %d', (values, expected) => {
    expect(gini(values)).toBeCloseTo(expected, 12);
  });

  it('equals the pairwise definition on random values', () => {
    for (let trial = 0; trial < 50; trial++) {
      const xs = Array.from({ length: 1 + (trial % 17) }, (_, i) => ((i * 7919 + trial * 104729) % 23) * (i % 3));
      const n = xs.length;
      const mean = xs.reduce((a, b) => a + b, 0) / n;
      let pairs = 0;
      for (const a of xs) for (const b of xs) pairs += Math.abs(a - b);
      expect(gini(xs)).toBeCloseTo(mean === 0 ? 0 : pairs / (2 * n * n * mean), 12);
    }
  });

  it('is NaN for no values and refuses negative ones', () => {
    expect(gini([])).toBeNaN();
    expect(() => gini([1, -1])).toThrow(RangeError);
    expect(() => gini([NaN])).toThrow(RangeError);
  });
});

describe('ctr and relativeChange', () => {
  it('are plain ratios, NaN where undefined', () => {
    expect(ctr(3, 10)).toBe(0.3);
    expect(ctr(0, 0)).toBeNaN();
    expect(relativeChange(1.1, 1)).toBeCloseTo(0.1, 12);
    expect(relativeChange(0.9, 1)).toBeCloseTo(-0.1, 12);
    expect(relativeChange(1, 0)).toBeNaN();
  });
});

describe('diversityDistribution', () => {
  it('buckets per-reader counts and saturates at the top bucket', () => {
    const d = diversityDistribution([1, 2, 2, 0, DIVERSITY_TOP, DIVERSITY_TOP + 5]);
    expect(d.readers).toBe(5);
    expect(d.users[1]).toBe(1);
    expect(d.users[2]).toBe(2);
    expect(d.users[DIVERSITY_TOP]).toBe(2);
    expect(d.users[0]).toBe(0);
    expect(d.mean).toBeCloseTo((1 + 2 + 2 + 16 + 21) / 5, 12);
  });
});

describe('exactMeasures', () => {
  const ev = (userId: string, itemId: string, kind: FeedbackEvent['kind'], arm: string, category: string, tags: string[] = []): FeedbackEvent => ({
    userId,
    itemId,
    kind,
    arm,
    timestampMs: 0,
    category,
    tags,
  });

  it('computes a hand-worked case', () => {
    const events = [
      ev('a', 'i1', 'exposure', 'control', 'news', ['x']),
      ev('a', 'i1', 'exposure', 'control', 'news', ['x']), // repeat: one distinct exposure, two events
      ev('a', 'i2', 'exposure', 'control', 'sport', ['y', 'z']),
      ev('b', 'i1', 'exposure', 'control', 'news', ['x']),
      ev('c', 'i3', 'exposure', 'control', 'tech', ['w']),
      ev('a', 'i1', 'click', 'control', 'news', ['x']),
      ev('a', 'i2', 'click', 'control', 'sport', ['y', 'z']),
      ev('b', 'i1', 'click', 'control', 'news', ['x']),
      ev('d', 'i9', 'click', 'treatment', '', []),
    ];
    const m = exactMeasures(events);
    const c = m.get('control')!;
    expect(c.exposures).toBe(4); // (a,i1) (a,i2) (b,i1) (c,i3)
    expect(c.exposureEvents).toBe(5);
    expect(c.clicks).toBe(3);
    expect(c.ctr).toBeCloseTo(3 / 5, 12);
    // Readers a (news, sport; tags x y z) and b (news; tag x); c only saw.
    expect(c.categoryDiversity).toMatchObject({ readers: 2, mean: 1.5 });
    expect(c.categoryDiversity.users.slice(0, 3)).toEqual([0, 1, 1]);
    expect(c.tagDiversity).toMatchObject({ readers: 2, mean: 2 });
    expect(c.tagDiversity.users[3]).toBe(1);
    // Clicks over exposed items i1, i2, i3: [2, 1, 0] → (2·(1·0 + 2·1 + 3·2)) / (3 · 3) − 4/3 = 16/9 − 12/9.
    expect(c.gini).toBeCloseTo(4 / 9, 12);
    const t = m.get('treatment')!;
    expect(t).toMatchObject({ exposures: 0, exposureEvents: 0, clicks: 1 });
    expect(t.ctr).toBeNaN();
    expect(t.categoryDiversity.readers).toBe(0); // a click on an item without a category reads no category
    expect(t.gini).toBe(0); // one item, clicked once: nobody else to be unequal to
  });
});
