/**
 * The real-time protocol: what RALM is for. Fresh items are held out of every model's
 * training (no item embedding, no phase-2 sample, no seed during training) and are scored
 * only through their seeds, as the LookalikeScorer scores a candidate minutes after its
 * first clicks. The warm protocol (the paper's Table 1) stays beside it.
 */
import type { TimeSplit } from './types';

export interface FreshOptions {
  /** An item is fresh when its first event falls within this many days before the cutoff. Default 4. */
  days?: number;
  /** Distinct clickers before the cutoff it needs (fewer and the LookalikeScorer would not serve it either). Default 50. */
  minSeeds?: number;
  /** Test clicks and test non-clicks it needs, each, for its own AUC to mean something. Default 5. */
  minTestEach?: number;
  /** At most this many fresh items (the youngest first). Default 400. */
  maxItems?: number;
}

export interface FreshItems {
  /** Item rows, youngest first. */
  items: Int32Array;
  /** Per item row: 1 when fresh. */
  isFresh: Uint8Array;
  /** Per fresh item (same order as `items`): its distinct clickers before the cutoff, in order of first click. */
  seedsInOrder: Int32Array[];
  options: Required<FreshOptions>;
}

/**
 * Picks the fresh items: born (first event) within `days` before the cutoff, with at least
 * `minSeeds` seeds before it and `minTestEach` clicks and non-clicks after it.
 */
export function selectFreshItems(split: TimeSplit, options: FreshOptions = {}): FreshItems {
  const o: Required<FreshOptions> = { days: 4, minSeeds: 50, minTestEach: 5, maxItems: 400, ...options };
  const { user, item, timestamp, label } = split.dataset.events;
  const nItems = split.dataset.items.ids.length;
  const first = new Float64Array(nItems).fill(Infinity);
  const testClicks = new Int32Array(nItems);
  const testOthers = new Int32Array(nItems);
  for (let e = 0; e < user.length; e++) {
    const i = item[e]!;
    if (timestamp[e]! < first[i]!) first[i] = timestamp[e]!;
  }
  for (const e of split.testEvents) (label[e] === 1 ? testClicks : testOthers)[item[e]!]!++;
  const born = split.cutoff - o.days * 86400;
  const candidates: number[] = [];
  for (let i = 0; i < nItems; i++) {
    if (first[i]! < born || first[i]! >= split.cutoff) continue;
    if (split.trainSeeds[i]!.length < o.minSeeds || testClicks[i]! < o.minTestEach || testOthers[i]! < o.minTestEach) continue;
    candidates.push(i);
  }
  candidates.sort((a, b) => first[b]! - first[a]! || a - b);
  const items = Int32Array.from(candidates.slice(0, o.maxItems));
  const isFresh = new Uint8Array(nItems);
  for (const i of items) isFresh[i] = 1;
  // Train events are in event order, which is not time order across users: order clicks by time.
  const clicks: Array<Array<[number, number]>> = Array.from({ length: items.length }, () => []);
  const slot = new Int32Array(nItems).fill(-1);
  items.forEach((i, s) => (slot[i] = s));
  for (const e of split.trainEvents) {
    const s = slot[item[e]!]!;
    if (s >= 0 && label[e] === 1) clicks[s]!.push([timestamp[e]!, user[e]!]);
  }
  const seedsInOrder = clicks.map((list) => {
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const seen = new Set<number>();
    const out: number[] = [];
    for (const [, u] of list) if (!seen.has(u)) seen.add(u), out.push(u);
    return Int32Array.from(out);
  });
  return { items, isFresh, seedsInOrder, options: o };
}

/**
 * The split every model trains on: the fresh items' events are removed from the train
 * events and they have no train seeds, so nothing a model learns has seen them.
 */
export function withoutFreshItems(split: TimeSplit, fresh: FreshItems): TimeSplit {
  const { item } = split.dataset.events;
  return {
    ...split,
    trainEvents: split.trainEvents.filter((e) => !fresh.isFresh[item[e]!]),
    trainSeeds: split.trainSeeds.map((s, i) => (fresh.isFresh[i] ? new Int32Array(0) : s)),
  };
}

/** Per item row, the seeds a fresh item is scored through: all of them, or the earliest `limit`; empty for other items. */
export function freshSeeds(split: TimeSplit, fresh: FreshItems, limit = Infinity): Int32Array[] {
  const out = Array.from({ length: split.trainSeeds.length }, () => new Int32Array(0));
  fresh.items.forEach((i, s) => {
    const ordered = fresh.seedsInOrder[s]!;
    out[i] = Int32Array.from(ordered.subarray(0, Math.min(ordered.length, limit))).sort();
  });
  return out;
}

export interface FreshSamples {
  users: Int32Array;
  items: Int32Array;
  labels: Uint8Array;
}

/**
 * The test events of the fresh items, in event order, without the item's own seeds
 * (their answer is already known: they clicked it before the cutoff).
 */
export function freshTestSamples(split: TimeSplit, fresh: FreshItems): FreshSamples {
  const { user, item, label } = split.dataset.events;
  const seedSets = new Map<number, Set<number>>();
  fresh.items.forEach((i, s) => seedSets.set(i, new Set(fresh.seedsInOrder[s]!)));
  const us: number[] = [];
  const is: number[] = [];
  const ls: number[] = [];
  for (const e of split.testEvents) {
    const seeds = seedSets.get(item[e]!);
    if (!seeds || seeds.has(user[e]!)) continue;
    us.push(user[e]!);
    is.push(item[e]!);
    ls.push(label[e]!);
  }
  return { users: Int32Array.from(us), items: Int32Array.from(is), labels: Uint8Array.from(ls) };
}

/** Per user, the items they clicked before the cutoff (train events of `split`): excluded from their ranking and reads. */
export function trainReadsByUser(split: TimeSplit): Map<number, Set<number>> {
  const { user, item, label } = split.dataset.events;
  const out = new Map<number, Set<number>>();
  for (const e of split.trainEvents) {
    if (label[e] !== 1) continue;
    let set = out.get(user[e]!);
    if (!set) out.set(user[e]!, (set = new Set()));
    set.add(item[e]!);
  }
  return out;
}
