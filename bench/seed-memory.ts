/**
 * Bytes per stored seed and per candidate in the seed collector's memory: the SeedBook
 * as the service runs it, at 10^4, 10^6 and 3·10^6 seeds of one candidate (the paper's
 * cap), and 10,000 candidates of 100 seeds. Memory is the V8 heap plus array buffers
 * after a forced GC, as a delta over an empty book; users are interned once in the
 * shared dictionary, so that part is reported per distinct user, apart from the seeds.
 * The Map-based RecencySet<string> the book used before is measured alongside.
 *
 *   node --expose-gc --import tsx bench/seed-memory.ts [--sizes 10000,1000000,3000000]
 */
import { arg, markdownTable, thousands } from './common';
import { RecencySet } from '../services/seed-collector/src/domain/recency-set';
import { SeedBook } from '../services/seed-collector/src/domain/seed-book';
import { SeedRing } from '../services/seed-collector/src/domain/seed-ring';
import { UserDictionary } from '../services/seed-collector/src/domain/user-dictionary';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/seed-memory.ts');

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const DAY = 86_400_000;
/** Keeps what is measured reachable until it has been measured (V8 frees what nothing uses later). */
const keep: unknown[] = [];
const now = Date.now();
const userId = (i: number) => `u${(i * 2654435761) % 4294967291}`;

/** Bytes the book holds for `n` seeds of one candidate: total, and the part that is the user dictionary. */
function bookBytes(n: number): { total: number; ringBytes: number } {
  const ids = Array.from({ length: n }, (_, i) => userId(i));
  const before = used();
  const book = new SeedBook({ seedCap: 3_000_000, dedupeCap: 1, maxFutureSkewMs: DAY, maxClickAgeMs: 30 * DAY });
  book.register('c', 'cat', [], now - 1000);
  for (let i = 0; i < n; i++) book.apply({ eventId: `e${i}`, userId: ids[i]!, candidateId: 'c', timestampMs: now - 10 }, now);
  keep.push(book, ids);
  const total = used() - before;
  const ring = (book as unknown as { seeds: Map<string, { bytes: number }> }).seeds.get('c')!.bytes;
  if (book.seedCount('c') !== n) throw new Error('seed count mismatch');
  return { total, ringBytes: ring };
}

function recencyBytes(n: number): number {
  const ids = Array.from({ length: n }, (_, i) => userId(i));
  const before = used();
  const set = new RecencySet<string>(3_000_000);
  for (const id of ids) set.touch(id);
  keep.push(set, ids);
  const total = used() - before;
  if (set.size !== n) throw new Error('size mismatch');
  return total;
}

/** The user ids' own strings: what any representation keeping the ids must hold. */
function stringBytes(n: number): number {
  const before = used();
  const ids = Array.from({ length: n }, (_, i) => userId(i));
  const total = used() - before;
  if (ids.length !== n) throw new Error('unreachable');
  return total;
}

function candidatesBytes(count: number, seedsEach: number): number {
  const before = used();
  const book = new SeedBook({ seedCap: 3_000_000, dedupeCap: 1, maxFutureSkewMs: DAY, maxClickAgeMs: 30 * DAY });
  for (let c = 0; c < count; c++) {
    book.register(`cand-${c}`, 'cat', ['t1', 't2'], now - 1000);
    for (let s = 0; s < seedsEach; s++) book.apply({ eventId: `e${c}-${s}`, userId: userId(s), candidateId: `cand-${c}`, timestampMs: now - 10 }, now);
  }
  keep.push(book);
  return used() - before;
}

const sizes = arg('sizes', '10000,1000000,3000000').split(',').map(Number);
console.log(`node ${process.version}; memory = heapUsed + arrayBuffers after gc, delta over an empty book\n`);
const rows: string[][] = [];
for (const n of sizes) {
  const strings = stringBytes(n);
  const book = bookBytes(n);
  const old = recencyBytes(n);
  keep.length = 0;
  // The ids' strings exist outside the book in both measurements (the caller's), so neither counts them.
  rows.push([
    thousands(n),
    (book.ringBytes / n).toFixed(1),
    ((book.total - book.ringBytes) / n).toFixed(1),
    (strings / n).toFixed(1),
    (book.total / n).toFixed(1),
    (old / n).toFixed(1),
    (old / book.total).toFixed(2),
  ]);
}
console.log(
  markdownTable(
    ['seeds of one candidate', 'B/seed: seed ring', 'B/user: dictionary (shared by all candidates)', 'B/user: the id string itself', 'B/seed: ring + dictionary', 'B/seed: RecencySet<string> (before)', 'before / now'],
    rows,
  ),
);
const perCandidate = candidatesBytes(10_000, 100);
keep.length = 0;
const empty = candidatesBytes(10_000, 0);
keep.length = 0;
console.log(`\n10,000 candidates × 100 seeds (the same 100 users): ${thousands(perCandidate / 10_000)} B per candidate; with no seeds: ${thousands(empty / 10_000)} B (record, ids, tags, an empty ring, map entries)`);

/**
 * The seed-set update alone, as SeedBook.apply does it (is the user new? make it the
 * newest), old structure against new, on 2,000,000 clicks over 100 candidates and 50,000
 * users; three rounds, since the first pays the JIT's warm-up.
 */
function updateRates(): string[] {
  const N = 2_000_000;
  const C = 100;
  const U = 50_000;
  const users = Array.from({ length: U }, (_, i) => `user-${i}`);
  let state = 1;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % 1_000_000_007;
  const clicks = Array.from({ length: N }, () => [next() % C, next() % U] as const);
  const lines: string[] = [];
  for (let round = 1; round <= 3; round++) {
    let t = performance.now();
    const old = Array.from({ length: C }, () => new RecencySet<string>(3_000_000));
    let fresh = 0;
    for (const [c, u] of clicks) {
      const set = old[c]!;
      if (!set.has(users[u]!)) fresh++;
      set.touch(users[u]!);
    }
    const oldRate = N / ((performance.now() - t) / 1000);
    t = performance.now();
    const dictionary = new UserDictionary();
    const rings = Array.from({ length: C }, () => new SeedRing(3_000_000));
    let freshNew = 0;
    for (const [c, u] of clicks) {
      const ring = rings[c]!;
      const i = dictionary.intern(users[u]!);
      if (!ring.has(i)) (dictionary.retain(i), freshNew++);
      const out = ring.touch(i);
      if (out !== -1) dictionary.release(out);
    }
    const newRate = N / ((performance.now() - t) / 1000);
    if (fresh !== freshNew) throw new Error('the two structures disagree');
    lines.push(`round ${round}: RecencySet<string> ${thousands(oldRate)}/s, SeedRing + dictionary ${thousands(newRate)}/s, ×${(newRate / oldRate).toFixed(2)}`);
  }
  return lines;
}
console.log('\nseed-set updates (2,000,000 clicks, 100 candidates, 50,000 users):');
for (const line of updateRates()) console.log(`  ${line}`);
