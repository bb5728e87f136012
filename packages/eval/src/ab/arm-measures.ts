/**
 * The paper's Table 2 measures of each arm (definitions: @ralm/experiment measures.ts):
 *   exposure            distinct (user, item) exposures per user of the arm (arms differ in size);
 *   ctr                 clicks / exposure events;
 *   categoryDiversity   mean distinct categories read per reader-day (a user-day with a click);
 *   tagDiversity        the same for tags;
 *   gini                standard Gini of clicks over the items the arm exposed, per day,
 *                       averaged over the days.
 * Computed from per-user sums, so a bootstrap replicate is the same computation with users
 * weighted by how often they were drawn; with unit weights it equals `exactMeasures` day by day.
 */
import type { Dataset } from '@ralm/data';
import { ctr, exactMeasures, gini, type ArmMeasures, type FeedbackEvent } from '@ralm/experiment';
import { ARM_CODES, type ArmName, type SimulatedDay, type Simulation } from './simulate';

export const MEASURES = ['exposure', 'ctr', 'categoryDiversity', 'tagDiversity', 'gini'] as const;
export type MeasureName = (typeof MEASURES)[number];
export type MeasureValues = Record<MeasureName, number>;

/** One user's contribution to their arm's measures. */
interface UserStats {
  exposures: number;
  exposureEvents: number;
  clicks: number;
  /** Σ over the user's reader-days of distinct categories read, and the number of such days. */
  categorySum: number;
  categoryDays: number;
  tagSum: number;
  tagDays: number;
  /** Per day of the replay, the items exposed to the user and their clicks. */
  days: Array<{ day: number; items: Int32Array; clicks: Int32Array }>;
}

/** An arm's users (those with slots in the replay) with their statistics. */
export interface ArmStats {
  users: UserStats[];
  dayCount: number;
  itemCount: number;
}

/** Per-user statistics of each arm. */
export function armStats(sim: Simulation, dataset: Dataset): Record<ArmName, ArmStats> {
  const itemCount = dataset.items.ids.length;
  const byUser = new Map<number, UserStats>();
  const out = Object.fromEntries(ARM_CODES.map((a) => [a, { users: [] as UserStats[], dayCount: sim.days.length, itemCount }])) as Record<ArmName, ArmStats>;
  for (const [u, arm] of [...sim.armOf].sort((a, b) => a[0] - b[0])) {
    const s: UserStats = { exposures: 0, exposureEvents: 0, clicks: 0, categorySum: 0, categoryDays: 0, tagSum: 0, tagDays: 0, days: [] };
    byUser.set(u, s);
    out[arm].users.push(s);
  }
  const everSeen = new Map<number, Set<number>>();
  sim.days.forEach((day, d) => {
    const imp = day.impressions;
    const perUser = new Map<number, Map<number, number>>();
    for (let e = 0; e < imp.user.length; e++) {
      const u = imp.user[e]!;
      const i = imp.item[e]!;
      const s = byUser.get(u)!;
      s.exposureEvents++;
      s.clicks += imp.clicked[e]!;
      let seen = everSeen.get(u);
      if (!seen) everSeen.set(u, (seen = new Set()));
      if (!seen.has(i)) {
        seen.add(i);
        s.exposures++;
      }
      let items = perUser.get(u);
      if (!items) perUser.set(u, (items = new Map()));
      items.set(i, (items.get(i) ?? 0) + imp.clicked[e]!);
    }
    for (const [u, items] of perUser) {
      const s = byUser.get(u)!;
      const read = [...items].filter(([, c]) => c > 0).map(([i]) => i);
      const categories = new Set(read.map((i) => dataset.items.category[i]!).filter((c) => c !== ''));
      const tags = new Set(read.flatMap((i) => dataset.items.tags[i]!).filter((t) => t !== ''));
      if (categories.size > 0) {
        s.categorySum += categories.size;
        s.categoryDays++;
      }
      if (tags.size > 0) {
        s.tagSum += tags.size;
        s.tagDays++;
      }
      s.days.push({ day: d, items: Int32Array.from(items.keys()), clicks: Int32Array.from(items.values()) });
    }
  });
  return out;
}

/** The five measures of an arm, each user counted `weights[j]` times (once each when omitted). */
export function armMeasures(arm: ArmStats, weights?: ArrayLike<number>): MeasureValues {
  const w = (j: number) => (weights ? weights[j]! : 1);
  let users = 0;
  let exposures = 0;
  let events = 0;
  let clicks = 0;
  let catSum = 0;
  let catDays = 0;
  let tagSum = 0;
  let tagDays = 0;
  const itemClicks = Array.from({ length: arm.dayCount }, () => new Float64Array(arm.itemCount));
  const exposed = Array.from({ length: arm.dayCount }, () => new Uint8Array(arm.itemCount));
  arm.users.forEach((s, j) => {
    const wj = w(j);
    if (wj === 0) return;
    users += wj;
    exposures += wj * s.exposures;
    events += wj * s.exposureEvents;
    clicks += wj * s.clicks;
    catSum += wj * s.categorySum;
    catDays += wj * s.categoryDays;
    tagSum += wj * s.tagSum;
    tagDays += wj * s.tagDays;
    for (const { day, items, clicks: c } of s.days) {
      for (let t = 0; t < items.length; t++) {
        exposed[day]![items[t]!] = 1;
        itemClicks[day]![items[t]!] += wj * c[t]!;
      }
    }
  });
  let giniSum = 0;
  let giniDays = 0;
  for (let d = 0; d < arm.dayCount; d++) {
    const values = itemClicks[d]!.filter((_, i) => exposed[d]![i] === 1);
    if (values.length === 0) continue;
    giniSum += gini(values);
    giniDays++;
  }
  return {
    exposure: users > 0 ? exposures / users : NaN,
    ctr: ctr(clicks, events),
    categoryDiversity: catDays > 0 ? catSum / catDays : NaN,
    tagDiversity: tagDays > 0 ? tagSum / tagDays : NaN,
    gini: giniDays > 0 ? giniSum / giniDays : NaN,
  };
}

/** One day's impressions as the feedback events the live system would report. */
function feedbackEvents(day: SimulatedDay, dataset: Dataset): FeedbackEvent[] {
  const { items, users } = dataset;
  const imp = day.impressions;
  const events: FeedbackEvent[] = [];
  for (let e = 0; e < imp.user.length; e++) {
    const i = imp.item[e]!;
    const base = { userId: users.ids[imp.user[e]!]!, itemId: items.ids[i]!, arm: ARM_CODES[imp.arm[e]!]!, timestampMs: day.start * 1000 + e, category: items.category[i]!, tags: items.tags[i]! };
    events.push({ ...base, kind: 'exposure' });
    if (imp.clicked[e]) events.push({ ...base, kind: 'click' });
  }
  return events;
}

/** `exactMeasures` of one day, per arm (absent arms had no impression). */
export function dayMeasures(day: SimulatedDay, dataset: Dataset): Map<string, ArmMeasures> {
  return exactMeasures(feedbackEvents(day, dataset));
}
