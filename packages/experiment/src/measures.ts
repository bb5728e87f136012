/**
 * The paper's Table 2 measures, computed exactly (RALM-MATH §6):
 *
 * - exposure: distinct (user, item) exposures;
 * - CTR: clicks / exposure events;
 * - category (tag) diversity: per user who read (clicked) something, the number of distinct
 *   categories (tags) they read; reported as a distribution and its mean;
 * - Gini: the standard Gini coefficient of clicks over the items exposed, 0 when every
 *   exposed item got the same clicks, approaching 1 when one item got them all. The paper
 *   calls a *higher* figure "more long-tail consumption", the opposite direction: we export
 *   the standard coefficient, so a fall means clicks spread over more items.
 *
 * The live sliding-day aggregator (window.ts) approximates these with bounded memory and is
 * tested against `exactMeasures`.
 */

export type FeedbackKind = 'exposure' | 'click';

export interface FeedbackEvent {
  userId: string;
  itemId: string;
  kind: FeedbackKind;
  arm: string;
  timestampMs: number;
  /** The item's category; '' when unknown (then it counts towards no category). */
  category: string;
  tags: readonly string[];
}

export interface DiversityDistribution {
  /** users[c] = readers with exactly c distinct values for c < DIVERSITY_TOP, users[DIVERSITY_TOP] = those with at least DIVERSITY_TOP; users[0] is always 0. */
  users: number[];
  /** Mean distinct values per reader (NaN with no readers). */
  mean: number;
  readers: number;
}

export interface ArmMeasures {
  /** Distinct (user, item) exposures. */
  exposures: number;
  /** Exposure events (a repeated exposure counts again). */
  exposureEvents: number;
  clicks: number;
  /** clicks / exposureEvents; NaN with no exposures. */
  ctr: number;
  categoryDiversity: DiversityDistribution;
  tagDiversity: DiversityDistribution;
  /** Standard Gini of clicks over the items exposed in the arm; NaN when nothing was exposed. */
  gini: number;
}

/** Distributions have buckets 1 … DIVERSITY_TOP − 1 and one "DIVERSITY_TOP or more". */
export const DIVERSITY_TOP = 16;

/**
 * Standard Gini coefficient of non-negative values: Σ_i Σ_j |x_i − x_j| / (2 n² mean),
 * by the sorted form (2 Σ_i i·x_(i)) / (n Σ x) − (n + 1) / n. 0 for all-equal values,
 * including all zeros (nobody is favoured); NaN for no values.
 * @throws RangeError for a negative or non-finite value
 */
export function gini(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>);
  for (const v of sorted) if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`gini: values must be finite and >= 0, got ${v}`);
  sorted.sort();
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    sum += sorted[i]!;
    weighted += (i + 1) * sorted[i]!;
  }
  if (sum === 0) return 0;
  // Clamped: for all-equal values the two terms cancel up to rounding.
  return Math.max(0, (2 * weighted) / (n * sum) - (n + 1) / n);
}

/** clicks / exposures; NaN when there were no exposures (a rate of nothing is unknown, not 0). */
export function ctr(clicks: number, exposures: number): number {
  return exposures > 0 ? clicks / exposures : NaN;
}

/** treatment / control − 1: +0.05 is a 5 % rise. NaN when control is 0 or either is NaN. */
export function relativeChange(treatment: number, control: number): number {
  return control !== 0 && Number.isFinite(control) && Number.isFinite(treatment) ? treatment / control - 1 : NaN;
}

/** The distribution of per-reader distinct counts (each ≥ 1). */
export function diversityDistribution(countsPerReader: Iterable<number>): DiversityDistribution {
  const users = new Array<number>(DIVERSITY_TOP + 1).fill(0);
  let readers = 0;
  let total = 0;
  for (const c of countsPerReader) {
    if (c <= 0) continue;
    users[Math.min(c, DIVERSITY_TOP)]!++;
    readers++;
    total += c;
  }
  return { users, mean: readers > 0 ? total / readers : NaN, readers };
}

/**
 * Every measure of every arm, exactly, from the events given (the caller picks the
 * window). Arms with no events are absent. The oracle the live aggregator is tested
 * against, and the simulator's scorer.
 */
export function exactMeasures(events: Iterable<FeedbackEvent>): Map<string, ArmMeasures> {
  interface Acc {
    pairs: Set<string>;
    exposureEvents: number;
    clicks: number;
    categories: Map<string, Set<string>>;
    tags: Map<string, Set<string>>;
    itemClicks: Map<string, number>;
  }
  const accs = new Map<string, Acc>();
  for (const e of events) {
    let a = accs.get(e.arm);
    if (!a) accs.set(e.arm, (a = { pairs: new Set(), exposureEvents: 0, clicks: 0, categories: new Map(), tags: new Map(), itemClicks: new Map() }));
    if (e.kind === 'exposure') {
      a.exposureEvents++;
      a.pairs.add(`${e.userId}\u0000${e.itemId}`);
      if (!a.itemClicks.has(e.itemId)) a.itemClicks.set(e.itemId, 0);
      continue;
    }
    a.clicks++;
    // A click implies the item was shown, even if its exposure report was lost.
    a.itemClicks.set(e.itemId, (a.itemClicks.get(e.itemId) ?? 0) + 1);
    const cats = a.categories.get(e.userId) ?? new Set<string>();
    a.categories.set(e.userId, cats);
    if (e.category !== '') cats.add(e.category);
    const tags = a.tags.get(e.userId) ?? new Set<string>();
    a.tags.set(e.userId, tags);
    for (const t of e.tags) if (t !== '') tags.add(t);
  }
  const out = new Map<string, ArmMeasures>();
  for (const [arm, a] of accs) {
    out.set(arm, {
      exposures: a.pairs.size,
      exposureEvents: a.exposureEvents,
      clicks: a.clicks,
      ctr: ctr(a.clicks, a.exposureEvents),
      categoryDiversity: diversityDistribution([...a.categories.values()].map((s) => s.size)),
      tagDiversity: diversityDistribution([...a.tags.values()].map((s) => s.size)),
      gini: gini([...a.itemClicks.values()]),
    });
  }
  return out;
}
