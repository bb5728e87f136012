import { exactMeasures, HyperLogLog, SlidingAbWindow, type FeedbackEvent } from '@ralm/experiment';

/** A deterministic stream: Zipf-ish items, categories and tags tied to items, both kinds. */
function* stream(n: number, seed: number, startMs: number, spanMs: number, arms = ['control', 'treatment']): Generator<FeedbackEvent> {
  let x = seed >>> 0 || 1;
  const next = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let k = 0; k < n; k++) {
    const item = Math.floor(200 * next() ** 3);
    yield {
      userId: `u${Math.floor(next() * 500)}`,
      itemId: `i${item}`,
      kind: next() < 0.2 ? 'click' : 'exposure',
      arm: arms[Math.floor(next() * arms.length)]!,
      timestampMs: startMs + Math.floor((k / n) * spanMs),
      category: item % 11 === 0 ? '' : `c${item % 7}`,
      tags: [`t${item % 13}`, `t${(item * 3) % 17}`],
    };
  }
}

describe('HyperLogLog', () => {
  it('estimates distinct counts within 3 standard errors, and merging is the union', () => {
    for (const n of [10, 1000, 50_000]) {
      const a = new HyperLogLog(14);
      const b = new HyperLogLog(14);
      for (let i = 0; i < n; i++) (i % 2 ? a : b).add(`k${i}`);
      for (let i = 0; i < n; i += 3) a.add(`k${i}`); // repeats change nothing
      a.merge(b);
      expect(Math.abs(a.estimate() / n - 1)).toBeLessThan(3 * (1.04 / 128) + (n < 100 ? 0.05 : 0));
    }
  });
});

describe('HyperLogLog bias', () => {
  it('stays unbiased through the range where the classic estimator switches to linear counting', () => {
    // Mean relative error over trials, at cardinalities around 2.5·m = 40,960 (p = 14).
    for (const n of [1_000, 20_000, 35_000, 41_000, 45_000, 60_000, 100_000]) {
      let sum = 0;
      const trials = 8;
      for (let t = 0; t < trials; t++) {
        const h = new HyperLogLog(14);
        for (let i = 0; i < n; i++) h.add(`t${t}:k${i}`);
        sum += h.estimate() / n - 1;
      }
      // 3 standard errors of an 8-trial mean (1.04 / 128 / √8 ≈ 0.29 %): the classic estimator is +2 % at 41,000.
      expect({ n, bias: Math.abs(sum / trials) < 0.009 }).toEqual({ n, bias: true });
    }
  });

  it('is exactly 0 when empty', () => {
    expect(new HyperLogLog(14).estimate()).toBe(0);
  });
});

describe('SlidingAbWindow', () => {
  const HOUR = 3_600_000;
  const start = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);

  it('equals the exact measures over the window, with caps that never bind', () => {
    const w = new SlidingAbWindow(['control', 'treatment'], { maxUsers: 1e6, maxItems: 1e6, maxValuesPerUser: 1e6 });
    // 40 hours of events; the day ending in hour 39 keeps hours 16..39.
    const events = [...stream(30_000, 7, start, 40 * HOUR)];
    for (const e of events) expect(w.add(e, e.timestampMs)).toBe('applied');
    const now = start + 39 * HOUR + 1;
    const got = w.measures(now);
    const oracle = exactMeasures(events.filter((e) => e.timestampMs >= start + 16 * HOUR));
    for (const arm of ['control', 'treatment']) {
      const g = got.get(arm)!;
      const o = oracle.get(arm)!;
      expect(g.exposureEvents).toBe(o.exposureEvents);
      expect(g.clicks).toBe(o.clicks);
      expect(g.ctr).toBeCloseTo(o.ctr, 12);
      expect(Math.abs(g.exposures / o.exposures - 1)).toBeLessThan(0.03);
      expect(g.categoryDiversity).toEqual(o.categoryDiversity);
      expect(g.tagDiversity).toEqual(o.tagDiversity);
      expect(g.gini).toBeCloseTo(o.gini, 12);
      expect(g.userSampleRate).toBe(1);
    }
  });

  it('forgets hours that slid out, and ignores late events', () => {
    const w = new SlidingAbWindow(['control']);
    const e = (t: number, kind: FeedbackEvent['kind'] = 'click'): FeedbackEvent => ({ userId: 'u', itemId: 'i', kind, arm: 'control', timestampMs: t, category: 'c', tags: [] });
    w.add(e(start, 'exposure'), start);
    w.add(e(start), start);
    const day = w.measures(start + 23 * HOUR).get('control')!;
    expect(day).toMatchObject({ clicks: 1, exposureEvents: 1 });
    expect(day.exposures).toBeCloseTo(1, 3);
    const later = w.measures(start + 24 * HOUR).get('control')!;
    expect(later).toMatchObject({ clicks: 0, exposureEvents: 0, exposures: 0, trackedUsers: 0, trackedItems: 0 });
    expect(later.ctr).toBeNaN();
    expect(w.add(e(start), start + 24 * HOUR)).toBe('late');
    expect(w.add({ ...e(start), arm: 'nope' }, start)).toBe('unknown_arm');
    // From the future: counted now, not lost.
    expect(w.add(e(start + 48 * HOUR), start + 24 * HOUR)).toBe('applied');
    expect(w.measures(start + 24 * HOUR).get('control')!.clicks).toBe(1);
  });

  it('keeps memory bounded by its caps and still estimates the measures', () => {
    const cap = 400;
    const w = new SlidingAbWindow(['control'], { maxUsers: cap, maxItems: cap, maxValuesPerUser: 8 });
    const events: FeedbackEvent[] = [];
    let x = 12345;
    const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 60_000; k++) {
      const item = Math.floor(20_000 * next() ** 2);
      const e: FeedbackEvent = { userId: `u${Math.floor(next() * 20_000)}`, itemId: `i${item}`, kind: next() < 0.5 ? 'click' : 'exposure', arm: 'control', timestampMs: start, category: `c${item % 5}`, tags: [] };
      events.push(e);
      w.add(e, start);
    }
    const g = w.measures(start).get('control')!;
    const o = exactMeasures(events).get('control')!;
    expect(g.trackedUsers).toBeLessThanOrEqual(cap);
    expect(g.trackedItems).toBeLessThanOrEqual(cap);
    expect(g.userSampleRate).toBeLessThan(0.1);
    expect(g.itemSampleRate).toBeLessThan(0.1);
    expect(Math.abs(g.categoryDiversity.mean / o.categoryDiversity.mean - 1)).toBeLessThan(0.05);
    expect(Math.abs(g.categoryDiversity.readers / g.userSampleRate / o.categoryDiversity.readers - 1)).toBeLessThan(0.15);
    expect(Math.abs(g.gini - o.gini)).toBeLessThan(0.05);
  });

  it('caps the values remembered per user, keeping the most recent', () => {
    const w = new SlidingAbWindow(['control'], { maxValuesPerUser: 2 });
    for (const [h, cat] of [[0, 'a'], [1, 'b'], [2, 'c']] as const) {
      w.add({ userId: 'u', itemId: 'i', kind: 'click', arm: 'control', timestampMs: start + h * HOUR, category: cat, tags: [] }, start + h * HOUR);
    }
    expect(w.measures(start + 2 * HOUR).get('control')!.categoryDiversity.mean).toBe(2);
    // 'a' was evicted; sliding past hour 1 leaves only 'c'.
    expect(w.measures(start + 25 * HOUR).get('control')!.categoryDiversity.mean).toBe(1);
  });

  it('refuses a window that is not a whole number of slots', () => {
    expect(() => new SlidingAbWindow(['control'], { windowMs: 90, slotMs: 60 })).toThrow(RangeError);
  });
});
