import { selectBackend } from '@ralm/model/backend';
import { DEFAULT_MODEL_CONFIG } from '@ralm/model/config';
import type { FeatureSchema } from '@ralm/model/features';
import { RalmModel } from '@ralm/model/model';
import { Rng } from '@ralm/model/rng';
import { precomputeCandidates } from '@ralm/model/serving';
import { loadNativeKernel, referenceKernel, typescriptKernel } from '../src';
import { bulkValues, maxDiff } from './fixtures';

const schema: FeatureSchema = { fields: [{ name: 'x', kind: 'univalent', ids: ['a'], min: 0, max: 0 }] };

/** A small untrained model: its look-alike tower and attention weights are seeded random, which is all serving reads. */
function model(k: number, d: number, h: number, pooling: 'attention' | 'average'): RalmModel {
  return new RalmModel({ ...DEFAULT_MODEL_CONFIG, userDim: d, lookalikeDim: h, attentionSize: 6, hidden: [], seed: k + h, seedPooling: pooling }, schema, ['i0'], {
    version: 't', createdAtMs: 0, dataFingerprint: '', jobId: '', metrics: {}, temperature: 1,
  }, { userIds: [], universal: new Float32Array(0), lookalike: new Float32Array(0) });
}

describe('kernels on tables from precomputeCandidates, against the tfjs forward pass of training', () => {
  beforeAll(() => selectBackend());

  it.each([
    // k, d, h, candidates, users, pooling
    [1, 8, 8, 7, 5, 'attention'],
    [3, 16, 33, 300, 32, 'attention'],
    [20, 16, 8, 300, 1, 'attention'],
    // precomputeCandidates takes seconds at 1,000 candidates on wasm: one such case here, the random tables cover the rest.
    [20, 8, 128, 1030, 32, 'attention'],
    [20, 32, 128, 1, 32, 'attention'],
    [3, 16, 33, 300, 5, 'average'],
    [20, 32, 128, 300, 32, 'average'],
  ] as const)('k=%i d=%i h=%i, %i candidates × %i users, %s pooling: within 1e-5', (k, d, h, count, users, pooling) => {
    const rng = new Rng(k * 1000 + h);
    const m = model(k, d, h, pooling);
    const centroids = Float32Array.from({ length: count * k * d }, bulkValues(rng, 'normal'));
    const mask = new Float32Array(count * k);
    const sizes = new Float32Array(count * k);
    for (let c = 0; c < count; c++) {
      // Candidate 0 has one cluster; the others a varying number of clusters of very unequal size, in any slots.
      const slots = Array.from({ length: k }, (_, j) => j);
      rng.shuffle(slots as unknown as Int32Array);
      const clusters = c === 0 ? 1 : 1 + rng.int(k);
      for (const j of slots.slice(0, clusters)) {
        mask[c * k + j] = 1;
        sizes[c * k + j] = 1 + Math.floor(rng.next() ** 3 * 5000);
      }
    }
    const table = precomputeCandidates(m, centroids, mask, count, sizes);
    // With more than one user the last is all zero: every kernel must give 0 for it, not NaN.
    const embedded = users > 1 ? users - 1 : 1;
    const universal = Float32Array.from({ length: embedded * d }, bulkValues(rng, 'normal'));
    const eu = new Float32Array(users * h);
    eu.set(m.embedUniversal(universal));
    const { alpha, beta } = m.config;
    // The oracle: the model's own tfjs graph (what training optimises), one user against every candidate's centroids.
    const expected = new Float32Array(users * count);
    for (let b = 0; b < embedded; b++) {
      const repeated = new Float32Array(count * d);
      for (let c = 0; c < count; c++) repeated.set(universal.subarray(b * d, (b + 1) * d), c * d);
      expected.set(m.scoreWithCentroids(repeated, centroids, mask, k, sizes), b * count);
    }
    const subset = Int32Array.from({ length: Math.min(count, 40) }, () => rng.int(count));
    for (const kernel of [referenceKernel, typescriptKernel, loadNativeKernel()]) {
      const got = kernel.score(table, eu, users, alpha, beta);
      expect({ kernel: kernel.name, within: maxDiff(got, expected) < 1e-5 }).toEqual({ kernel: kernel.name, within: true });
      if (users > 1) expect(got.subarray((users - 1) * count).every((s) => s === 0)).toBe(true);
      const one = kernel.scoreSubset(table, eu.subarray(0, h), subset, alpha, beta);
      expect({ kernel: kernel.name, within: maxDiff(one, Float32Array.from(subset, (c) => expected[c]!)) < 1e-5 }).toEqual({ kernel: kernel.name, within: true });
    }
    m.dispose();
  }, 60_000);
});
