import { Rng } from '@ralm/model/rng';
import { clearSlot, createKernelTable, loadNativeKernel, referenceKernel, rowsPerCandidate, typescriptKernel, writeSlot } from '../src';
import { maxDiff, randomTable, randomUsers } from './fixtures';

describe('KernelTable slots', () => {
  it('writeSlot lays out [P, E, ĝ], zeroes masked rows and Gram entries', () => {
    const table = createKernelTable(2, 2, 3, false);
    const es = [1, 2, 3, 4, 5, 6];
    const projected = [7, 8, 9, 10, 11, 12];
    writeSlot(table, 1, es, projected, [1, 2, 3, 4], [0.6, 0.8, 0], [1, 0]);
    expect(Array.from(table.rows.subarray(rowsPerCandidate(2) * 3))).toEqual([7, 8, 9, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0.6, 0.8, 0].map(Math.fround));
    expect(Array.from(table.gram.subarray(4))).toEqual([1, 0, 0, 0]);
    expect(Array.from(table.mask)).toEqual([0, 0, 1, 0]);
    expect(table.rows.subarray(0, 15).every((x) => x === 0)).toBe(true);
  });

  it('rejects a wrong slot or wrong lengths', () => {
    const table = createKernelTable(2, 2, 3, false);
    const ok = [new Float32Array(6), new Float32Array(6), new Float32Array(4), new Float32Array(3), [1, 1]] as const;
    expect(() => writeSlot(table, 2, ...ok)).toThrow(RangeError);
    expect(() => writeSlot(table, 0, new Float32Array(5), ok[1], ok[2], ok[3], ok[4])).toThrow(/es has length 5/);
    expect(() => writeSlot(table, 0, ok[0], ok[1], ok[2], ok[3], [1])).toThrow(/mask/);
    expect(() => createKernelTable(1, 0, 3, false)).toThrow(RangeError);
  });

  it('a table updated slot by slot, in any order, scores as one built at once; a cleared slot scores 0', () => {
    const rng = new Rng(11);
    const whole = randomTable(rng, 40, 5, 16, { values: 'relu' });
    const { k, h } = whole;
    const piecewise = createKernelTable(40, k, h, false);
    const order = Int32Array.from({ length: 40 }, (_, c) => c);
    rng.shuffle(order);
    const n = rowsPerCandidate(k) * h;
    for (const c of order) {
      const rows = whole.rows.subarray(c * n, (c + 1) * n);
      writeSlot(piecewise, c, rows.subarray(k * h, 2 * k * h), rows.subarray(0, k * h), whole.gram.subarray(c * k * k, (c + 1) * k * k), rows.subarray(2 * k * h), whole.mask.subarray(c * k, (c + 1) * k));
    }
    const eu = randomUsers(rng, 3, h, 'relu');
    const kernels = [referenceKernel, typescriptKernel, loadNativeKernel()];
    for (const kernel of kernels) expect(maxDiff(kernel.score(piecewise, eu, 3, 0.5, 0.5), referenceKernel.score(whole, eu, 3, 0.5, 0.5))).toBeLessThan(1e-6);
    clearSlot(piecewise, 7);
    // The native kernel reads the arrays in place: the cleared slot shows at once, with no reload.
    for (const kernel of kernels) expect(Array.from(kernel.score(piecewise, eu, 3, 0.5, 0.5).filter((_, i) => i % 40 === 7))).toEqual([0, 0, 0]);
  });
});
