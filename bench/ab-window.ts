/**
 * The A/B sliding-day window: cost per event and memory as users and items grow, against
 * the exact oracle's memory on the same stream (packages/experiment: SlidingAbWindow vs
 * exactMeasures). One process, one run; the caps are the service defaults (20,000 users
 * and items per arm), so past them memory must stay flat while the oracle's keeps growing.
 *
 *   node --expose-gc --import tsx bench/ab-window.ts [--events 1000000]
 *
 * (`npx tsx` would start a child node without --expose-gc, and heap figures without a
 * forced collection measure garbage, so the bench refuses to run without it.)
 */
import { exactMeasures, SlidingAbWindow, type FeedbackEvent } from '@ralm/experiment';
import { arg, machineFacts, markdownTable, thousands } from './common';

const EVENTS = Number(arg('events', '1000000'));
const HOUR = 3_600_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with: node --expose-gc --import tsx bench/ab-window.ts');
  process.exit(2);
}

function heapMiB(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** A day of feedback: `users` users and `users / 5` items (Zipf-ish), 15 % clicks, two arms. */
function* day(users: number, seed: number): Generator<FeedbackEvent> {
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const items = Math.max(10, Math.floor(users / 5));
  const start = 1_800_000_000_000;
  for (let k = 0; k < EVENTS; k++) {
    const item = Math.floor(items * next() ** 2);
    yield {
      userId: `u${Math.floor(next() * users)}`,
      itemId: `i${item}`,
      kind: next() < 0.15 ? 'click' : 'exposure',
      arm: next() < 0.5 ? 'control' : 'treatment',
      timestampMs: start + Math.floor((k / EVENTS) * 23 * HOUR),
      category: `c${item % 40}`,
      tags: [`t${item % 300}`, `t${(item * 7) % 300}`],
    };
  }
}

/** What an exact day needs to hold: every distinct pair, every reader's categories and tags, every item's clicks. */
function exactState(users: number) {
  const pairs = new Set<string>();
  const readers = new Map<string, { categories: Set<string>; tags: Set<string> }>();
  const itemClicks = new Map<string, number>();
  for (const e of day(users, 7)) {
    const key = `${e.arm}\u0000${e.userId}\u0000${e.itemId}`;
    if (e.kind === 'exposure') {
      pairs.add(key);
      continue;
    }
    itemClicks.set(`${e.arm}\u0000${e.itemId}`, (itemClicks.get(`${e.arm}\u0000${e.itemId}`) ?? 0) + 1);
    const id = `${e.arm}\u0000${e.userId}`;
    let r = readers.get(id);
    if (!r) readers.set(id, (r = { categories: new Set(), tags: new Set() }));
    r.categories.add(e.category);
    for (const t of e.tags) r.tags.add(t);
  }
  return { pairs, readers, itemClicks };
}

/** One row; everything it allocates is unreachable once it returns, so rows do not leak into each other's figures. */
function row(users: number): string[] {
  let before = heapMiB();
  const window = new SlidingAbWindow(['control', 'treatment']);
  const started = performance.now();
  let now = 0;
  for (const e of day(users, 7)) window.add(e, (now = e.timestampMs));
  const addMs = performance.now() - started;
  const t = performance.now();
  const m = window.measures(now);
  const measureMs = performance.now() - t;
  const windowMiB = heapMiB() - before;
  const control = m.get('control')!;
  const exact = exactMeasures(day(users, 7)).get('control')!;

  before = heapMiB();
  const state = exactState(users);
  const oracleMiB = heapMiB() - before;
  if (state.pairs.size === 0) throw new Error('empty day');
  return [
    thousands(users),
    ((addMs * 1000) / EVENTS).toFixed(1),
    measureMs.toFixed(0),
    windowMiB.toFixed(0),
    oracleMiB.toFixed(0),
    `${thousands(control.trackedUsers)} @ ${control.userSampleRate}`,
    `${thousands(control.trackedItems)} @ ${control.itemSampleRate}`,
    (control.categoryDiversity.mean / exact.categoryDiversity.mean).toFixed(3),
    (control.gini - exact.gini).toFixed(4),
    (control.exposures / exact.exposures).toFixed(4),
  ];
}

const rows = [10_000, 100_000, 1_000_000].map(row);
console.log(machineFacts('ab-window'));
console.log(`${thousands(EVENTS)} events in one day per row, two arms, default caps (20,000 users and items per arm); memory = heap after a forced GC.\n`);
console.log(
  markdownTable(
    ['users', 'µs / event', 'measures (ms)', 'window MiB', 'exact state MiB', 'users kept @ rate', 'items kept @ rate', 'category diversity / exact', 'Gini − exact', 'distinct exposures / exact'],
    rows,
  ),
);
