import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { matMul } from '../src/dense';
import { embeddingLookup } from '../src/embedding';
import { FeatureEncoder, type FeatureSchema } from '../src/features';
import { LookalikeModel } from '../src/lookalike';
import { Rng } from '../src/rng';
import { centroidsForSamples, clusterItemSeeds } from '../src/seed-clusters';
import { UserTower } from '../src/user-tower';

const schema: FeatureSchema = {
  fields: [
    { name: 'gender', kind: 'univalent', ids: ['f', 'm'], min: 0, max: 0 },
    { name: 'tags', kind: 'multivalent', ids: ['a', 'b', 'c', 'd'], min: 0, max: 0 },
    { name: 'age', kind: 'continuous', ids: [], min: 10, max: 70 },
  ],
};

describe.each(['cpu', 'wasm'] as const)('tensor code on the %s backend', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });

  it('gives the embedding lookup the gradient of a numeric central difference, repeated rows included', () => {
    const rng = new Rng(7);
    const rows = 6;
    const width = 3;
    const tableValues = Float32Array.from({ length: rows * width }, () => rng.normal());
    const indices = tf.tensor2d([[1, 4, 1], [0, 1, 5]], [2, 3], 'int32');
    const weights = tf.tensor(Float32Array.from({ length: 2 * 3 * width }, () => rng.normal()), [2, 3, width]);
    const f = (table: tf.Tensor) => tf.sum(tf.mul(tf.square(embeddingLookup(table as tf.Tensor2D, indices)), weights));
    const analytic = tf.grad(f)(tf.tensor2d(tableValues, [rows, width])).dataSync();
    const h = 1e-2;
    for (let i = 0; i < tableValues.length; i++) {
      const plus = Float32Array.from(tableValues);
      const minus = Float32Array.from(tableValues);
      plus[i]! += h;
      minus[i]! -= h;
      const numeric = (f(tf.tensor2d(plus, [rows, width])).dataSync()[0]! - f(tf.tensor2d(minus, [rows, width])).dataSync()[0]!) / (2 * h);
      expect(analytic[i]).toBeCloseTo(numeric, 2);
    }
    // Rows 2 and 3 are never looked up: exactly zero gradient.
    for (const row of [2, 3]) for (let t = 0; t < width; t++) expect(analytic[row * width + t]).toBe(0);
  });

  it('looks up exactly the rows tf.gather returns, and refuses an index outside the table', () => {
    const rng = new Rng(5);
    const table = tf.tensor2d(Float32Array.from({ length: 7 * 4 }, () => rng.normal()), [7, 4]);
    const indices = tf.tensor2d([[6, 0, 3], [3, 3, 1]], [2, 3], 'int32');
    expect(Array.from(embeddingLookup(table, indices).dataSync())).toEqual(Array.from(tf.gather(table, indices).dataSync()));
    expect(() => embeddingLookup(table, tf.tensor1d([2, 7], 'int32')).dataSync()).toThrow();
  });

  it('gives matMul the gradient of a numeric central difference for both operands', () => {
    const rng = new Rng(9);
    const [B, K, N] = [5, 4, 3];
    const aValues = Float32Array.from({ length: B * K }, () => rng.normal());
    const bValues = Float32Array.from({ length: K * N }, () => rng.normal());
    const weights = tf.tensor2d(Float32Array.from({ length: B * N }, () => rng.normal()), [B, N]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.square(matMul(a as tf.Tensor2D, b as tf.Tensor2D)), weights));
    const [ga, gb] = tf.grads(f)([tf.tensor2d(aValues, [B, K]), tf.tensor2d(bValues, [K, N])]).map((g) => g.dataSync());
    expect(Array.from(matMul(tf.tensor2d(aValues, [B, K]), tf.tensor2d(bValues, [K, N])).dataSync())).toEqual(Array.from(tf.matMul(tf.tensor2d(aValues, [B, K]), tf.tensor2d(bValues, [K, N])).dataSync()));
    const h = 1e-2;
    const numeric = (values: Float32Array, i: number, at: (v: Float32Array) => number) => {
      const plus = Float32Array.from(values);
      const minus = Float32Array.from(values);
      plus[i]! += h;
      minus[i]! -= h;
      return (at(plus) - at(minus)) / (2 * h);
    };
    for (let i = 0; i < aValues.length; i++) {
      expect(ga![i]).toBeCloseTo(numeric(aValues, i, (v) => f(tf.tensor2d(v, [B, K]), tf.tensor2d(bValues, [K, N])).dataSync()[0]!), 2);
    }
    for (let i = 0; i < bValues.length; i++) {
      expect(gb![i]).toBeCloseTo(numeric(bValues, i, (v) => f(tf.tensor2d(aValues, [B, K]), tf.tensor2d(v, [K, N])).dataSync()[0]!), 2);
    }
  });

  it('makes attention-merge weights a distribution over present fields, zero on masked ones', () => {
    const tower = new UserTower(schema, { tower: 'attention_merge', fieldDim: 4, attentionSize: 5, hidden: [8], userDim: 6 }, new Rng(2));
    const encoder = new FeatureEncoder(schema);
    const batch = encoder.encode([
      { gender: 'f', tags: ['a', 'b'], age: 30 },
      { gender: 'unknown-id', tags: [], age: 30 }, // OOV and empty: both masked
      { tags: ['zzz'], age: Number.NaN }, // only unknown tags and a missing number: everything masked
    ]);
    expect(Array.from(batch.present)).toEqual([1, 1, 1, 0, 0, 1, 0, 0, 0]);
    const alpha = tf.tidy(() => tower.attention(tower.fieldVectors(batch), tf.tensor2d(batch.present, [3, 3])).arraySync()) as number[][];
    expect(alpha[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(alpha[1]![0]).toBe(0);
    expect(alpha[1]![1]).toBe(0);
    expect(alpha[1]![2]).toBeCloseTo(1, 5);
    expect(alpha[2]).toEqual([0, 0, 0]);
    for (const row of alpha) for (const w of row) expect(w).toBeGreaterThanOrEqual(0);
    const u = tf.tidy(() => tower.apply(batch).arraySync()) as number[][];
    expect(u.flat().every(Number.isFinite)).toBe(true);
  });

  it("scores with the spec's formulas: the tfjs graph equals a direct evaluation", () => {
    const d = 5;
    const h = 4;
    const k = 3;
    const model = new LookalikeModel({ userDim: d, lookalikeDim: h, attentionSize: 6, alpha: 0.3, beta: 0.7, temperature: undefined, seedPooling: 'attention', clusterSizePrior: false }, new Rng(11));
    const rng = new Rng(4);
    const B = 4;
    const u = Float32Array.from({ length: B * d }, () => rng.normal());
    const c = Float32Array.from({ length: B * k * d }, () => rng.normal());
    const mask = Float32Array.from([1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1]);
    const got = tf.tidy(() => model.score(tf.tensor2d(u, [B, d]), tf.tensor3d(c, [B, k, d]), tf.tensor2d(mask, [B, k])).score.dataSync());

    const w = model.params.read();
    const Wt = w.get('lookalike.transform.kernel')!.values;
    const bt = w.get('lookalike.transform.bias')!.values;
    const Wl = w.get('lookalike.local.w')!.values;
    const Wg = w.get('lookalike.global.w')!.values;
    const bg = w.get('lookalike.global.b')!.values;
    const vg = w.get('lookalike.global.v')!.values;
    const T = (x: ArrayLike<number>) => Array.from({ length: h }, (_, j) => Math.max(0, bt[j]! + Array.from({ length: d }, (_, i) => x[i]! * Wt[i * h + j]!).reduce((a, b) => a + b, 0)));
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const cos = (a: number[], b: number[]) => dot(a, b) / (Math.sqrt(dot(a, a) + 1e-12) * Math.sqrt(dot(b, b) + 1e-12));
    const softmax = (x: number[], m: number[]) => {
      const mx = Math.max(...x.filter((_, i) => m[i]));
      const e = x.map((v, i) => (m[i] ? Math.exp(v - mx) : 0));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    for (let b = 0; b < B; b++) {
      const eu = T(u.subarray(b * d, b * d + d));
      const Es = Array.from({ length: k }, (_, j) => T(c.subarray((b * k + j) * d, (b * k + j + 1) * d)));
      const m = Array.from(mask.subarray(b * k, b * k + k));
      const z = Es.map((e) => dot(Array.from({ length: h }, (_, j) => e.reduce((s, x, i) => s + x * Wl[i * h + j]!, 0)), eu));
      const wl = softmax(z.map(Math.tanh), m);
      const g = Es.map((e) => Array.from({ length: 6 }, (_, a) => Math.tanh(bg[a]! + e.reduce((s, x, i) => s + x * Wg[i * 6 + a]!, 0))).reduce((s, x, a) => s + x * vg[a]!, 0));
      const wg = softmax(g, m);
      const eLoc = Array.from({ length: h }, (_, t) => Es.reduce((s, e, j) => s + wl[j]! * e[t]!, 0));
      const eGlb = Array.from({ length: h }, (_, t) => Es.reduce((s, e, j) => s + wg[j]! * e[t]!, 0));
      expect(got[b]).toBeCloseTo(0.3 * cos(eu, eGlb) + 0.7 * cos(eu, eLoc), 5);
    }
  });
});

describe('seed clusters for phase 2', () => {
  it("removes the target user from its item's seeds exactly (oracle: recompute the mean without it)", () => {
    const rng = new Rng(8);
    const d = 3;
    const h = 2;
    const nUsers = 40;
    const universal = Float32Array.from({ length: nUsers * d }, () => rng.normal());
    const lookalike = Float32Array.from({ length: nUsers * h }, () => rng.normal());
    const seeds = [Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), Int32Array.from([10]), new Int32Array(0)];
    const clusters = clusterItemSeeds(seeds, universal, lookalike, d, h, 3, 1000, new Rng(1));
    const users = [3, 20, 10, 5];
    const items = [0, 0, 1, 2];
    const out = centroidsForSamples(clusters, universal, users, items);
    expect(Array.from(out.usable)).toEqual([1, 1, 0, 0]); // item 1's only seed is the target; item 2 has none
    const map = clusters.membership[0]!;
    for (const [b, target] of [[0, 3], [1, 20]] as const) {
      for (let c = 0; c < clusters.count[0]!; c++) {
        const members = [...map].filter(([u, cl]) => cl === c && u !== target).map(([u]) => u);
        if (members.length === 0) {
          expect(out.mask[b * 3 + c]).toBe(0);
          continue;
        }
        expect(out.mask[b * 3 + c]).toBe(1);
        for (let t = 0; t < d; t++) {
          const mean = members.reduce((s, u) => s + universal[u * d + t]!, 0) / members.length;
          expect(out.centroids[(b * 3 + c) * d + t]).toBeCloseTo(mean, 5);
        }
      }
    }
  });
});
