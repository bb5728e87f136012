import { DEFAULT_MODEL_CONFIG } from '../src/config';
import { selectBackend } from '../src/backend';
import type { FeatureSchema } from '../src/features';
import { RalmModel } from '../src/model';
import { Rng } from '../src/rng';
import { referenceKernel, typescriptKernel } from '@ralm/kernel';
import { precomputeCandidates } from '../src/serving';

const schema: FeatureSchema = { fields: [{ name: 'x', kind: 'univalent', ids: ['a'], min: 0, max: 0 }] };

describe('precomputeCandidates + the kernels (spec §5) against the tfjs forward pass of training', () => {
  beforeAll(() => selectBackend());

  it.each([
    // k, d, h, candidates, users, pooling
    [1, 8, 8, 3, 2, 'attention'],
    [5, 16, 12, 7, 4, 'attention'],
    [20, 32, 24, 11, 3, 'attention'],
    [5, 16, 12, 7, 4, 'average'],
  ] as const)('k=%i d=%i h=%i, %i candidates × %i users, %s pooling: equal within 1e-5', (k, d, h, count, users, pooling) => {
    const rng = new Rng(k * 1000 + d);
    const model = new RalmModel({ ...DEFAULT_MODEL_CONFIG, userDim: d, lookalikeDim: h, attentionSize: 6, hidden: [], seed: k, seedPooling: pooling }, schema, ['i0'], {
      version: 't', createdAtMs: 0, dataFingerprint: '', jobId: '', metrics: {}, temperature: 1,
    }, { userIds: [], universal: new Float32Array(0), lookalike: new Float32Array(0) });
    const centroids = Float32Array.from({ length: count * k * d }, () => rng.normal());
    const mask = new Float32Array(count * k);
    const sizes = new Float32Array(count * k);
    for (let c = 0; c < count; c++) {
      // Candidate 0 has one cluster; the others a varying number of clusters of very unequal size.
      const clusters = c === 0 ? 1 : 1 + rng.int(k);
      for (let j = 0; j < clusters; j++) {
        mask[c * k + j] = 1;
        sizes[c * k + j] = 1 + Math.floor(rng.next() ** 3 * 5000);
      }
    }
    const universal = Float32Array.from({ length: users * d }, () => rng.normal());
    const table = precomputeCandidates(model, centroids, mask, count, sizes);
    const eu = model.embedUniversal(universal);
    const fast = typescriptKernel.score(table, eu, users, model.config.alpha, model.config.beta);
    const oracle = referenceKernel.score(table, eu, users, model.config.alpha, model.config.beta);
    for (let p = 0; p < oracle.length; p++) expect(Math.abs(oracle[p]! - fast[p]!)).toBeLessThan(1e-5);
    for (let b = 0; b < users; b++) {
      const u = universal.subarray(b * d, b * d + d);
      const repeated = new Float32Array(count * d);
      for (let c = 0; c < count; c++) repeated.set(u, c * d);
      const reference = model.scoreWithCentroids(repeated, centroids, mask, k, sizes);
      for (let c = 0; c < count; c++) expect(Math.abs(fast[b * count + c]! - reference[c]!)).toBeLessThan(1e-5);
    }
    model.dispose();
  });
});
