import { Rng } from '@ralm/model/rng';
import { convertTable, createKernelTable, loadNativeKernel, nativeStatus, referenceKernel, rowValue, rowValues, tableBytes, topAgreement, typescriptKernel, writeSlot } from '../src';
import { maxDiff, randomTable, randomUsers, tolerance } from './fixtures';

describe('int8 rows', () => {
  it('decode each value within half a step of what was written; constant and zero rows exactly', () => {
    const k = 2;
    const h = 40;
    const rng = new Rng(3);
    const table = createKernelTable(1, k, h, false, 'int8');
    const es = Float32Array.from({ length: k * h }, (_, i) => (i < h ? rng.normal() * 3 : 0.25));
    const projected = Float32Array.from({ length: k * h }, (_, i) => (i < h ? Math.max(0, rng.normal()) : -7));
    const glob = new Float32Array(h);
    writeSlot(table, 0, es, projected, new Float32Array(k * k), glob, [1, 1]);
    const rows = [projected.subarray(0, h), projected.subarray(h), es.subarray(0, h), es.subarray(h), glob];
    rows.forEach((row, r) => {
      for (let t = 0; t < h; t++) expect(Math.abs(rowValue(table, r, t) - row[t]!)).toBeLessThanOrEqual(table.scale[r]! * 0.5 * (1 + 1e-5) + 1e-7);
    });
    // The signed row spends all 256 codes over its range; a constant row needs none.
    expect(Math.min(...table.codes.subarray(4 * h, 5 * h))).toBe(0);
    expect([Math.min(...table.codes.subarray(2 * h, 3 * h)), Math.max(...table.codes.subarray(2 * h, 3 * h))]).toEqual([-128, 127]);
    expect(Array.from(rowValues(table, 1, 1))).toEqual(new Array(h).fill(-7));
    expect(Array.from(rowValues(table, 3, 1))).toEqual(new Array(h).fill(0.25));
    expect(Array.from(rowValues(table, 4, 1))).toEqual(new Array(h).fill(0));
  });

  it('refuses a value it cannot encode', () => {
    const table = createKernelTable(1, 1, 3, false, 'int8');
    expect(() => writeSlot(table, 0, [1, Number.NaN, 2], [0, 0, 0], [1], [1, 0, 0], [1])).toThrow(/finite values only/);
  });

  it('hold a slot in under half the bytes of float32 (k = 20, h = 128)', () => {
    const ratio = tableBytes(createKernelTable(10, 20, 128, false, 'int8')) / tableBytes(createKernelTable(10, 20, 128, false));
    expect(ratio).toBeLessThan(0.5);
    expect(ratio).toBeCloseTo((41 * 136 + 1600 + 20) / (41 * 512 + 1600 + 20), 6);
  });

  // The goal the precision was chosen against (docs/BENCHMARKS.md measures it at 10,000
  // candidates): ranks and scores as float32 gives them, on distinct candidates of the shapes the
  // service meets (ReLU clusters, norms over three orders of magnitude, holes, k = 20, h = 128).
  it('scores as the float32 table does: |Δscore| ≤ 0.01 and top-100 agreement ≥ 0.99 over 2,000 candidates', () => {
    const rng = new Rng(2026);
    const exact = randomTable(rng, 2000, 20, 128, { values: 'relu' });
    const coded = convertTable(exact, 'int8');
    const users = 16;
    const eu = randomUsers(rng, users, 128, 'relu');
    const native = loadNativeKernel();
    const a = native.score(exact, eu, users, 0.3, 0.7);
    const b = native.score(coded, eu, users, 0.3, 0.7);
    expect(maxDiff(a, b)).toBeLessThanOrEqual(0.01);
    expect(maxDiff(a, b)).toBeGreaterThan(0); // it is a different table
    let agreement = 0;
    for (let u = 0; u < users; u++) {
      if (u === 1) continue; // the zero user: every score 0
      agreement += topAgreement(a.subarray(u * 2000, (u + 1) * 2000), b.subarray(u * 2000, (u + 1) * 2000), 100) / (users - 1);
    }
    expect(agreement).toBeGreaterThanOrEqual(0.99);
  });

  it('the reference, TypeScript and native kernels agree on an int8 table converted from a float32 one', () => {
    const rng = new Rng(8);
    const coded = convertTable(randomTable(rng, 120, 5, 24, { values: 'normal' }), 'int8');
    const eu = randomUsers(rng, 9, 24, 'normal');
    const expected = referenceKernel.score(coded, eu, 9, 0.5, 0.5);
    expect(maxDiff(typescriptKernel.score(coded, eu, 9, 0.5, 0.5), expected)).toBeLessThan(1e-5);
    expect(maxDiff(loadNativeKernel().score(coded, eu, 9, 0.5, 0.5), expected)).toBeLessThan(tolerance('native-openblas', 'int8'));
  });
});

function native() {
  const status = nativeStatus();
  if (!status.loaded) throw new Error(`native kernel unavailable: ${status.reason} (build it with \`make native\`)`);
  return status;
}

// The int8 loops exist once per instruction set; each one this CPU has is forced in turn and
// held to the reference, the one picked at load included (AVX-512 ones only run where the CPU
// has them: config() names the one in use).
describe.each(native().isas.map((isa) => [isa]))('native int8 loops on %s', (isa) => {
  beforeAll(() => native().useIsa(isa));
  afterAll(() => native().useIsa(native().isas[0]!));

  const cases: Array<[number, number, number]> = [];
  for (const k of [1, 3, 20]) for (const h of [8, 33, 128]) for (const batch of [1, 5, 8, 32, 41]) cases.push([k, h, batch]);
  // Rows longer than the integer loops take (h > 512): the float ones.
  for (const batch of [1, 5, 32]) cases.push([3, 520, batch]);
  it.each(cases)('k=%i h=%i batch %i: score and scoreSubset as the reference gives them', (k, h, batch) => {
    const rng = new Rng(k * 31 + h * 7 + batch);
    const count = 97;
    const table = randomTable(rng, count, k, h, { values: (k + h) % 2 ? 'relu' : 'normal', precision: 'int8' });
    const eu = randomUsers(rng, batch, h, 'normal');
    expect(maxDiff(loadNativeKernel().score(table, eu, batch, 0.4, 0.6), referenceKernel.score(table, eu, batch, 0.4, 0.6))).toBeLessThan(tolerance('native-openblas', 'int8'));
    const subset = Int32Array.from([count - 1, 0, 5, 5]);
    const user = eu.subarray(0, h);
    expect(maxDiff(loadNativeKernel().scoreSubset(table, user, subset, 0.4, 0.6), referenceKernel.scoreSubset(table, user, subset, 0.4, 0.6))).toBeLessThan(tolerance('native-openblas', 'int8'));
  });

  // The integer product sums h code × user products in int32: at h = 512, every code −128 and
  // every user value at its int16 extreme, it reaches 512 · 128 · 32767, just under 2³¹; above
  // 512 the batch decodes and runs sgemm instead.
  it.each([512, 513])('h=%i with every code at its extreme: the batch sum stays exact', (h) => {
    const k = 2;
    const count = 3;
    const table = createKernelTable(count, k, h, false, 'int8');
    table.codes.fill(-128);
    table.scale.fill(1 / 128);
    table.offset.fill(0.5);
    table.mask.fill(1);
    for (let c = 0; c < count; c++) for (let j = 0; j < k; j++) table.gram[c * k * k + j * k + j] = 1;
    const batch = 16;
    const eu = Float32Array.from({ length: batch * h }, (_, i) => (Math.floor(i / h) % 2 ? -1 : 1) * 0.75);
    const expected = referenceKernel.score(table, eu, batch, 0.4, 0.6);
    expect(maxDiff(loadNativeKernel().score(table, eu, batch, 0.4, 0.6), expected)).toBeLessThan(tolerance('native-openblas', 'int8'));
    expect(Math.max(...Array.from(expected, Math.abs))).toBeGreaterThan(0.1);
  });
});
