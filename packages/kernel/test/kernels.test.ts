import { Rng } from '@ralm/model/rng';
import { createKernelTable, explainCandidate, loadNativeKernel, referenceKernel, TABLE_PRECISIONS, typescriptKernel, writeSlot, type ScoringKernel, type TablePrecision } from '../src';
import { maxDiff, randomTable, randomUsers, tolerance } from './fixtures';

const kernels: Array<[string, () => ScoringKernel]> = [
  ['typescript', () => typescriptKernel],
  ['native-openblas', loadNativeKernel],
];

// The seeded grid: every k × h × candidates, each with one batch size (rotating), so the
// sweep stays under a few seconds while every size of every axis meets every other axis.
// For float32, batch 1 and 5 take the native kernel's per-pair tail, 32 its users-along-lanes
// one (int8 batches above one all take the lanes); the precision rotates too (an int8 table is
// checked against the reference on the same codes).
const grid: Array<[number, number, number, number, TablePrecision]> = [];
let turn = 0;
for (const k of [1, 3, 20]) for (const h of [8, 33, 128]) for (const count of [1, 7, 300, 1030]) grid.push([k, h, count, [1, 5, 32][turn % 3]!, TABLE_PRECISIONS[turn++ % 2]!]);

describe.each(kernels)('%s kernel against the reference kernel', (name, kernel) => {
  it.each(grid)('k=%i h=%i, %i candidates × batch %i, %s: score and scoreSubset within 1e-5 (int8 batches: 5e-5)', (k, h, count, batch, precision) => {
    const rng = new Rng(k * 7919 + h * 131 + count * 17 + batch);
    const values = (k + h + count) % 2 ? 'relu' : 'normal';
    const table = randomTable(rng, count, k, h, { values, precision });
    const eu = randomUsers(rng, batch, h, values);
    const alpha = 0.4;
    const beta = 0.6;
    const expected = referenceKernel.score(table, eu, batch, alpha, beta);
    expect(maxDiff(kernel().score(table, eu, batch, alpha, beta), expected)).toBeLessThan(tolerance(name, precision));
    if (batch > 1) for (let c = 0; c < count; c++) expect(expected[count + c]).toBe(0); // the zero user

    const subset = Int32Array.from({ length: Math.min(count, 50) }, () => rng.int(count));
    subset[0] = count - 1;
    const user = eu.subarray(0, h);
    expect(maxDiff(kernel().scoreSubset(table, user, subset, alpha, beta), referenceKernel.scoreSubset(table, user, subset, alpha, beta))).toBeLessThan(1e-5);
  });

  it.each([
    [1, 8, 7, 5, 'float32'],
    [3, 33, 300, 32, 'float32'],
    [20, 128, 1030, 1, 'float32'],
    [20, 128, 300, 5, 'float32'],
    [3, 8, 300, 40, 'float32'],
    [3, 33, 300, 32, 'int8'],
    [20, 128, 1030, 1, 'int8'],
    [20, 128, 600, 5, 'int8'],
  ] as const)('average pooling, k=%i h=%i, %i candidates × batch %i, %s', (k, h, count, batch, precision) => {
    const rng = new Rng(k + h + count + batch);
    const table = randomTable(rng, count, k, h, { values: 'relu', average: true, precision });
    const eu = randomUsers(rng, batch, h, 'relu');
    expect(maxDiff(kernel().score(table, eu, batch, 0.3, 0.7), referenceKernel.score(table, eu, batch, 0.3, 0.7))).toBeLessThan(1e-5);
    const subset = Int32Array.from([count - 1, 0, 0]);
    const user = eu.subarray(0, h);
    expect(maxDiff(kernel().scoreSubset(table, user, subset, 0.3, 0.7), referenceKernel.scoreSubset(table, user, subset, 0.3, 0.7))).toBeLessThan(1e-5);
  });

  it.each([
    [8, 'float32'],
    [9, 'int8'],
    [17, 'float32'],
    [40, 'int8'],
  ] as const)('batch %i after a batch of 5 (spare vector lanes, reused scratch), %s', (batch, precision) => {
    const rng = new Rng(batch);
    const table = randomTable(rng, 300, 20, 33, { values: 'normal', precision });
    kernel().score(table, randomUsers(rng, 5, 33, 'normal'), 5, 0.4, 0.6);
    const eu = randomUsers(rng, batch, 33, 'normal');
    expect(maxDiff(kernel().score(table, eu, batch, 0.4, 0.6), referenceKernel.score(table, eu, batch, 0.4, 0.6))).toBeLessThan(tolerance(name, precision));
  });

  it('fills a caller-supplied output and accepts an empty table and an empty subset', () => {
    const rng = new Rng(5);
    const table = randomTable(rng, 9, 3, 8, { values: 'normal' });
    const eu = randomUsers(rng, 2, 8, 'normal');
    const out = new Float32Array(18).fill(Number.NaN);
    expect(kernel().score(table, eu, 2, 0.5, 0.5, out)).toBe(out);
    expect(maxDiff(out, referenceKernel.score(table, eu, 2, 0.5, 0.5))).toBeLessThan(1e-5);
    expect(kernel().score(randomTable(rng, 0, 3, 8, { values: 'normal' }), eu, 2, 0.5, 0.5)).toHaveLength(0);
    expect(kernel().scoreSubset(table, eu.subarray(0, 8), new Int32Array(0), 0.5, 0.5)).toHaveLength(0);
  });

  it('rejects mismatched lengths and out-of-range candidates', () => {
    const table = randomTable(new Rng(6), 4, 3, 8, { values: 'normal' });
    expect(() => kernel().score(table, new Float32Array(15), 2, 1, 1)).toThrow(RangeError);
    expect(() => kernel().score(table, new Float32Array(16), 2, 1, 1, new Float32Array(7))).toThrow(RangeError);
    expect(() => kernel().score(table, new Float32Array(8), 0, 1, 1)).toThrow(RangeError);
    expect(() => kernel().scoreSubset(table, new Float32Array(8), Int32Array.from([4]), 1, 1)).toThrow(RangeError);
    expect(() => kernel().scoreSubset(table, new Float32Array(8), Int32Array.from([-1]), 1, 1)).toThrow(RangeError);
    expect(() => kernel().score({ ...table, gram: table.gram.subarray(1) }, new Float32Array(8), 1, 1, 1)).toThrow(RangeError);
  });
});

describe('explainCandidate', () => {
  it('gives the reference score, attention weights summing to 1 over real clusters only, and the two cosines that make it', () => {
    const table = createKernelTable(3, 4, 8, false);
    const fill = (c: number, clusters: number) => {
      const es = Float32Array.from({ length: 4 * 8 }, (_, i) => (i < clusters * 8 ? ((i * 7 + c) % 5) / 5 : 0));
      const projected = Float32Array.from({ length: 4 * 8 }, (_, i) => (i < clusters * 8 ? ((i * 3 + c) % 7) / 7 - 0.4 : 0));
      const gram = new Float32Array(16);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let t = 0; t < 8; t++) gram[i * 4 + j] += es[i * 8 + t]! * es[j * 8 + t]!;
      const glob = Float32Array.from({ length: 8 }, (_, t) => (t + c) / 20);
      writeSlot(table, c, es, projected, gram, glob, [1, 1, 1, 1].map((_, j) => (j < clusters ? 1 : 0)));
    };
    fill(0, 4);
    fill(1, 2);
    fill(2, 1);
    const eu = Float32Array.from({ length: 8 }, (_, t) => (t % 3) / 3 + 0.1);
    const reference = referenceKernel.score(table, eu, 1, 0.3, 0.7);
    for (let c = 0; c < 3; c++) {
      const why = explainCandidate(table, c, eu, 0.3, 0.7);
      expect(why.score).toBeCloseTo(reference[c]!, 6);
      expect(why.score).toBeCloseTo(0.3 * why.cosGlobal + 0.7 * why.cosLocal, 12);
      const real = [4, 2, 1][c]!;
      expect(why.weights.slice(0, real).reduce((s, w) => s + w, 0)).toBeCloseTo(1, 12);
      expect(why.weights.slice(real)).toEqual(new Array(4 - real).fill(0));
    }
  });
});
