/**
 * The paper's offline protocol splits by time: models learn from earlier
 * events and are judged on later ones. Seeds (an item's audience) come from
 * the train side only, so nothing a model sees leaks the test clicks.
 */
import type { Dataset } from '@ralm/data';
import type { TimeSplit } from './types';

export interface TimeSplitOptions {
  /** Share of events, in (0, 1), that should fall at or after the cutoff. Default 0.2. */
  testFraction?: number;
}

/**
 * Splits `dataset.events` at a timestamp quantile: cutoff = the
 * ⌊n·(1 − testFraction)⌋-th smallest timestamp (0-based), so about
 * `testFraction` of the events have timestamp ≥ cutoff (more when many events
 * share the cutoff's timestamp: a timestamp is never split). Events with
 * timestamp < cutoff train. Deterministic; event indices stay ascending.
 * @throws RangeError for a testFraction outside (0, 1) or a dataset with no events
 */
export function splitByTime(dataset: Dataset, options: TimeSplitOptions = {}): TimeSplit {
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  const { timestamp, user, item, label } = dataset.events;
  const n = timestamp.length;
  if (n === 0) throw new RangeError('the dataset has no events to split');
  const sorted = Float64Array.from(timestamp).sort();
  const cutoff = sorted[Math.min(n - 1, Math.floor(n * (1 - testFraction)))]!;

  let nTest = 0;
  for (let e = 0; e < n; e++) if (timestamp[e]! >= cutoff) nTest++;
  const trainEvents = new Int32Array(n - nTest);
  const testEvents = new Int32Array(nTest);
  const nItems = dataset.items.ids.length;
  const seedSets: Array<Set<number> | undefined> = new Array(nItems);
  for (let e = 0, a = 0, b = 0; e < n; e++) {
    if (timestamp[e]! >= cutoff) {
      testEvents[b++] = e;
      continue;
    }
    trainEvents[a++] = e;
    if (label[e] === 1) (seedSets[item[e]!] ??= new Set()).add(user[e]!);
  }
  const trainSeeds = new Array<Int32Array>(nItems);
  for (let i = 0; i < nItems; i++) trainSeeds[i] = seedSets[i] ? Int32Array.from(seedSets[i]!).sort() : new Int32Array(0);
  return { dataset, cutoff, trainEvents, testEvents, trainSeeds };
}

/** Distinct users with at least one train event (clicked or not), ascending: the users a model may learn from. */
export function trainUsersOf(split: TimeSplit): Int32Array {
  const seen = new Uint8Array(split.dataset.users.ids.length);
  const { user } = split.dataset.events;
  let count = 0;
  for (const e of split.trainEvents) {
    const u = user[e]!;
    if (!seen[u]) {
      seen[u] = 1;
      count++;
    }
  }
  const out = new Int32Array(count);
  for (let u = 0, j = 0; u < seen.length; u++) if (seen[u]) out[j++] = u;
  return out;
}

/** Items with at least one seed, most seeds first, ties by item index: the order fitting budgets follow. */
export function itemsBySeedCount(trainSeeds: Int32Array[]): Int32Array {
  const items: number[] = [];
  for (let i = 0; i < trainSeeds.length; i++) if (trainSeeds[i]!.length > 0) items.push(i);
  items.sort((a, b) => trainSeeds[b]!.length - trainSeeds[a]!.length || a - b);
  return Int32Array.from(items);
}

/** The test events a look-alike model can be judged on, as parallel arrays. */
export interface TestSamples {
  users: Int32Array;
  items: Int32Array;
  /** 1 = click/read, 0 = exposure without click. */
  labels: Uint8Array;
  /** Test events dropped because their item has no train seed. */
  droppedEvents: number;
  /** Distinct items of the test events that have no train seed (their events are the dropped ones). */
  droppedItems: number;
}

/**
 * The test events restricted to items with at least one train seed, in event
 * order: a look-alike model extends an audience, so an item without seeds
 * cannot be scored by it (the paper evaluates candidates that have seeds).
 */
export function testSamples(split: TimeSplit): TestSamples {
  const { user, item, label } = split.dataset.events;
  let kept = 0;
  for (const e of split.testEvents) if (split.trainSeeds[item[e]!]!.length > 0) kept++;
  const users = new Int32Array(kept);
  const items = new Int32Array(kept);
  const labels = new Uint8Array(kept);
  const dropped = new Set<number>();
  let j = 0;
  for (const e of split.testEvents) {
    const i = item[e]!;
    if (split.trainSeeds[i]!.length === 0) {
      dropped.add(i);
      continue;
    }
    users[j] = user[e]!;
    items[j] = i;
    labels[j++] = label[e]!;
  }
  return { users, items, labels, droppedEvents: split.testEvents.length - kept, droppedItems: dropped.size };
}

/**
 * Per test user (a user with at least one kept test event, in order of first
 * such event), the items they clicked in the test events, restricted to items
 * with train seeds as in `testSamples`. A user who only saw exposures maps to
 * an empty set; `precisionAtK` leaves such users out of its average.
 */
export function readsByUser(split: TimeSplit): Map<number, Set<number>> {
  const { user, item, label } = split.dataset.events;
  const reads = new Map<number, Set<number>>();
  for (const e of split.testEvents) {
    const i = item[e]!;
    if (split.trainSeeds[i]!.length === 0) continue;
    const u = user[e]!;
    let set = reads.get(u);
    if (!set) reads.set(u, (set = new Set()));
    if (label[e] === 1) set.add(i);
  }
  return reads;
}
