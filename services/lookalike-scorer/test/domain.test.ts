import { NotServableReason } from '@ralm/proto/lookalike_scorer';
import { OverloadedError } from '@ralm/platform';
import { ScoreBatcher } from '../src/domain/batcher';
import { CandidateBook } from '../src/domain/candidate-book';
import { loadKernel, referenceKernel, slotParts, TABLE_PRECISIONS } from '@ralm/kernel';
import { Rng } from '@ralm/model/rng';
import { maxDiff, randomTable, randomUsers } from '../../../packages/kernel/test/fixtures';
import { kthLargest, rankAudience, scoreAllUsers } from '../src/domain/audience';
import { ScoringTable, type CandidateRows } from '../src/domain/scoring-table';
import { topK } from '../src/domain/top-k';

function seeded(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('topK', () => {
  it.each([0, 1, 3, 10, 99, 100, 250])('equals a full sort cut to k (k = %i), ties by id ascending', (k) => {
    const random = seeded(k + 1);
    // Few distinct values: plenty of ties, so the id order is exercised.
    const scores = Float32Array.from({ length: 100 }, () => Math.floor(random() * 7) / 7);
    const slots = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    const idOf = (slot: number) => `c${String(slot).padStart(3, '0')}`;
    const oracle = Array.from({ length: 100 }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || idOf(slots[a]!).localeCompare(idOf(slots[b]!)));
    expect(topK(scores, slots, idOf, k)).toEqual(k === 0 ? oracle : oracle.slice(0, k));
    expect(topK(scores, undefined, idOf, k).map((i) => scores[i])).toEqual((k === 0 ? oracle : oracle.slice(0, k)).map((i) => scores[i]));
  });
});

describe.each(TABLE_PRECISIONS)('ScoringTable (%s)', (precision) => {
  const k = 3;
  const h = 4;
  const rows = (v: number, clusters = k): CandidateRows => ({
    es: Float32Array.from({ length: k * h }, (_, i) => (i < clusters * h ? v + i : 0)),
    // As precomputation gives them: absent clusters have zero rows (P = E_s W_l) and no Gram entries.
    projected: Float32Array.from({ length: k * h }, (_, i) => (i < clusters * h ? -v - i : 0)),
    gram: Float32Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) < clusters && i % k < clusters ? v * 100 + i : 0)),
    globalUnit: Float32Array.from({ length: h }, (_, i) => v / 10 + i),
    mask: Array.from({ length: k }, (_, j) => (j < clusters ? 1 : 0)),
    sizes: Array.from({ length: k }, (_, j) => (j < clusters ? 10 * v - j : 0)),
    globalWeights: Array.from({ length: k }, (_, j) => (j < clusters ? 1 / clusters : 0)),
    clusterVersion: v,
    seedCount: 100 + v,
  });
  /** What slot `s` must hold for candidate value v, in the kernel layout [P; E_s; ĝ]. */
  /** Within half a code step of the row's range for int8 (its affine encoding), exact for float32. */
  const expectRows = (got: Float32Array, want: Float32Array) => {
    const step = precision === 'int8' ? Math.max(...want) - Math.min(...want) : 0;
    got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(step / 255 / 2 + Math.abs(want[i]!) * 1e-6));
  };
  /** What slot `s` must hold for candidate value v. */
  const expectSlot = (table: ScoringTable, slot: number, v: number, clusters = k) => {
    const p = slotParts(table.kernelTable(), slot);
    const r = rows(v, clusters);
    for (let j = 0; j < k; j++) {
      expectRows(p.projected.subarray(j * h, (j + 1) * h), r.projected.subarray(j * h, (j + 1) * h));
      expectRows(p.es.subarray(j * h, (j + 1) * h), r.es.subarray(j * h, (j + 1) * h));
    }
    expectRows(p.globalUnit, r.globalUnit);
    expect(Array.from(p.gram)).toEqual(Array.from(r.gram));
    expect(Array.from(p.mask)).toEqual(r.mask);
    expect([table.clusterVersionAt(slot), table.seedCountAt(slot)]).toEqual([v, 100 + v]);
    expect(table.clustersAt(slot)).toEqual({ sizes: r.sizes, globalWeights: r.globalWeights });
  };

  it('packs candidates contiguously, replaces in place, moves the last slot into a removed one, and grows', () => {
    const table = new ScoringTable(k, h, false, precision);
    expect(table.kernelTable().precision ?? 'float32').toBe(precision);
    for (let v = 1; v <= 100; v++) table.put(`c${v}`, rows(v, (v % k) + 1));
    expect(table.count).toBe(100);
    table.put('c7', rows(700));
    expectSlot(table, table.slot('c7')!, 700);
    expect(table.remove('c3')).toBe(true);
    expect(table.remove('c3')).toBe(false);
    expect(table.count).toBe(99);
    expect(table.slot('c100')).toBe(2); // the last slot moved into the hole
    expectSlot(table, 2, 100, (100 % k) + 1);
    for (let slot = 0; slot < table.count; slot++) {
      const id = table.candidateAt(slot);
      const v = id === 'c7' ? 700 : Number(id.slice(1));
      expectSlot(table, slot, v, id === 'c7' ? k : (v % k) + 1);
    }
    expect(table.kernelTable().count).toBe(99);
  });
});

describe('CandidateBook', () => {
  it('says why a candidate is not servable, in the order the proto documents', () => {
    const book = new CandidateBook(100);
    expect(book.reason('x', 'm1', false)).toBe(NotServableReason.NOT_SERVABLE_REASON_UNKNOWN_CANDIDATE);
    book.registered('a');
    book.seedsUpdated('a', 99, 99);
    expect(book.reason('a', 'm1', false)).toBe(NotServableReason.NOT_SERVABLE_REASON_TOO_FEW_SEEDS);
    book.seedsUpdated('a', 150, 150);
    expect(book.reason('a', 'm1', false)).toBe(NotServableReason.NOT_SERVABLE_REASON_NO_CLUSTERS);
    expect(book.clustersAnnounced('a', 2, 'm0', 150)).toBe(true);
    expect(book.clustersAnnounced('a', 1, 'm1', 150)).toBe(false); // an older announcement, redelivered
    expect(book.reason('a', 'm1', false)).toBe(NotServableReason.NOT_SERVABLE_REASON_MODEL_MISMATCH);
    expect(book.reason('a', 'm0', true)).toBe(NotServableReason.NOT_SERVABLE_REASON_UNSPECIFIED);
    book.retired('a');
    expect(book.reason('a', 'm0', true)).toBe(NotServableReason.NOT_SERVABLE_REASON_NOT_ACTIVE);
  });
});

describe('ScoreBatcher', () => {
  const opts = { windowMs: 0, maxUsers: 32, deadlineShare: 0.5 };
  /** A kernel that takes `msPerUser` of the fake clock per user and scores each user by its first component. */
  function timedKernel(t: { now: number }, msPerUser: number, sizes: number[]) {
    return (eu: Float32Array, users: number) => {
      sizes.push(users);
      t.now += msPerUser * users;
      return { scores: Float32Array.from({ length: users }, (_, u) => eu[u * 2]!), count: 1 };
    };
  }

  it('refuses at once a call whose wait (whole products, its own included) would take more than its share of the deadline', async () => {
    const t = { now: 1_000 };
    const shed: string[] = [];
    const batcher = new ScoreBatcher(timedKernel(t, 10, []), 2, { ...opts, maxUsers: 2, now: () => t.now, clock: () => t.now });
    batcher.onShed = (method) => shed.push(method);
    await batcher.score(Float32Array.of(1, 0)); // learns: a product costs 10 ms
    expect(batcher.expectedWaitMs()).toBe(10); // its own product
    const queued = [1, 2, 3].map((v) => batcher.score(Float32Array.of(v, 0), { deadlineMs: t.now + 1000 }));
    // 3 ahead, 2 a product: the newcomer's scores come with the 2nd product, ~20 ms: fits half of 40 ms, not half of 39.
    expect(batcher.expectedWaitMs()).toBe(20);
    const refused = batcher.score(Float32Array.of(9, 0), { deadlineMs: t.now + 39, method: 'S/Score' });
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toMatchObject({ reason: 'would_miss_deadline', retryAfterMs: 20, method: 'S/Score' });
    const fits = batcher.score(Float32Array.of(4, 0), { deadlineMs: t.now + 40 });
    expect(Array.from(await fits)).toEqual([4]);
    await Promise.all(queued);
    expect(shed).toEqual(['S/Score']);
  });

  it('scores concurrent calls in one product and hands each its own row', async () => {
    const calls: number[] = [];
    const batcher = new ScoreBatcher(
      (eu, users) => {
        calls.push(users);
        // "score" of slot s for a user = first component of its embedding + s
        const scores = new Float32Array(users * 3);
        for (let u = 0; u < users; u++) for (let s = 0; s < 3; s++) scores[u * 3 + s] = eu[u * 2]! + s;
        return { scores, count: 3 };
      },
      2,
      { ...opts, maxUsers: 4 },
    );
    const replies = await Promise.all([10, 20, 30, 40, 50, 60].map((v) => batcher.score(Float32Array.of(v, 0))));
    expect(replies.map((r) => Array.from(r))).toEqual([10, 20, 30, 40, 50, 60].map((v) => [v, v + 1, v + 2]));
    expect(calls).toEqual([4, 2]); // capped at maxUsers, the rest in the next turn
  });

  it('leaves out of the product a user whose caller left before the batch ran', async () => {
    const stacked: number[][] = [];
    const batcher = new ScoreBatcher(
      (eu, users) => {
        stacked.push(Array.from({ length: users }, (_, u) => eu[u * 2]!));
        return { scores: Float32Array.from({ length: users }, (_, u) => eu[u * 2]!), count: 1 };
      },
      2,
      { ...opts, maxUsers: 8 },
    );
    const gone = new AbortController();
    const left = batcher.score(Float32Array.of(2, 0), { signal: gone.signal });
    const kept = batcher.score(Float32Array.of(3, 0), { signal: new AbortController().signal });
    gone.abort(new Error('caller left'));
    await expect(left).rejects.toThrow('caller left');
    expect(Array.from(await kept)).toEqual([3]);
    expect(stacked).toEqual([[3]]);
  });

  it('fails every call of a batch whose kernel call throws', async () => {
    const batcher = new ScoreBatcher(() => {
      throw new Error('kernel exploded');
    }, 2, { ...opts, maxUsers: 8 });
    await expect(Promise.all([batcher.score(new Float32Array(2)), batcher.score(new Float32Array(2))])).rejects.toThrow('kernel exploded');
  });
});

describe('audience expansion', () => {
  // The brute-force oracle: each user scored alone by the reference kernel, then sorted.
  it.each(TABLE_PRECISIONS)('scores every user for one candidate as the reference does, one by one, and ranks them (%s)', (precision) => {
    const rng = new Rng(19);
    const [k, h, users] = [4, 16, 1000];
    const table = randomTable(rng, 5, k, h, { values: 'relu', precision });
    const matrix = randomUsers(rng, users, h, 'relu');
    const kernel = loadKernel();
    const scores = scoreAllUsers(kernel, table, 3, matrix, users, 0.3, 0.7, 97);
    const oracle = Float32Array.from({ length: users }, (_, u) => referenceKernel.scoreSubset(table, matrix.subarray(u * h, (u + 1) * h), Int32Array.of(3), 0.3, 0.7)[0]!);
    expect(maxDiff(scores, oracle)).toBeLessThan(precision === 'int8' ? 5e-5 : 1e-5);

    const idOf = (row: number) => `u${String(row).padStart(4, '0')}`;
    const excluded = new Set([0, 5, 17, ...Array.from({ length: 50 }, (_, i) => i * 7)]);
    const minScore = oracle[Array.from(oracle.keys()).sort((a, b) => oracle[b]! - oracle[a]!)[400]!]!;
    const ranked = rankAudience(scores, { size: 120, excluded, minScore }, idOf);
    const expected = Array.from(scores.keys())
      .filter((r) => !excluded.has(r) && scores[r]! >= minScore)
      .sort((a, b) => scores[b]! - scores[a]! || idOf(a).localeCompare(idOf(b)))
      .slice(0, 120);
    expect(ranked).toEqual(expected);
    // Fewer eligible than asked: all of them; none eligible: none.
    expect(rankAudience(scores, { size: 10_000, excluded, minScore }, idOf)).toHaveLength(Array.from(scores).filter((s, r) => s >= minScore && !excluded.has(r)).length);
    expect(rankAudience(scores, { size: 10, excluded: new Set(), minScore: Infinity }, idOf)).toEqual([]);
  });
});

describe('kthLargest', () => {
  it('agrees with a full sort at every k, with ties, and refuses a k out of range', () => {
    const rng = seeded(5);
    for (const n of [1, 2, 7, 100, 1001]) {
      const values = Float32Array.from({ length: n }, () => Math.floor(rng() * (n / 3 + 1)) / 7);
      const sorted = Array.from(values).sort((a, b) => b - a);
      for (const k of [1, 2, Math.ceil(n / 2), n].filter((x) => x <= n)) expect(kthLargest(values.slice(), k)).toBe(sorted[k - 1]);
    }
    // rankAudience on heavy ties: the rows at the cut are taken by user id, as a full sort does.
    const scores = Float32Array.from({ length: 500 }, () => Math.floor(rng() * 6));
    const idOf = (row: number) => `u${(row * 7919) % 1000}`;
    for (const size of [1, 50, 123, 499, 500]) {
      const expected = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || (idOf(a) < idOf(b) ? -1 : 1)).slice(0, size);
      expect(rankAudience(scores, { size, excluded: new Set(), minScore: -Infinity }, idOf)).toEqual(expected);
    }
    expect(() => kthLargest(new Float32Array(3), 0)).toThrow(RangeError);
    expect(() => kthLargest(new Float32Array(3), 4)).toThrow(RangeError);
  });
});
