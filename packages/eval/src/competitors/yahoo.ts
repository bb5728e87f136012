/**
 * The Yahoo look-alike model (Ma et al., KDD 2016), as the RALM paper uses it
 * as a competitor (section 6.2): user clustering to find candidate audiences,
 * then an information-value feature filter (IV > 0.5) to rank users.
 *
 * 1. Clustering. Every user's binary feature vector x (from `features.ts`) is
 *    L2-normalised (x/√nnz, so clusters follow what a profile holds rather
 *    than how long it is) and randomly projected to `dims` dimensions,
 *    y = R·x with R_{jf} = ±1/√dims (seeded); k-means++/Lloyd (`kmeans` of
 *    @ralm/model) on the train users (a seeded sample of at most `maxClusterUsers`)
 *    gives k centroids; every user joins its nearest centroid.
 * 2. Candidate clusters of item i: those c with seeds_i(c)/S_i ≥ size(c)/T
 *    (lift ≥ 1; compared exactly as seeds_i(c)·T ≥ size(c)·S_i, seeds_i(c) > 0),
 *    where S_i = seeds of i, T = train users, size(c) = train users in c.
 * 3. Feature filter. For each binary feature f, seeds s₁ = seeds with f,
 *    s₀ = S − s₁, non-seeds n₁ = train non-seeds with f, n₀ = N − n₁
 *    (N = T − S), with +0.5 smoothing per cell:
 *      p_b = (s_b + 0.5)/(S + 1),  q_b = (n_b + 0.5)/(N + 1)       (b ∈ {0, 1})
 *      WoE_b = ln(p_b / q_b),      IV = Σ_b (p_b − q_b)·WoE_b  (≥ 0)
 *    Features with IV > 0.5 are kept; if none passes, the 5 with the largest IV.
 * 4. Score of (u, i) = clamp(Σ_{kept f active in u} WoE₁(f), ±BONUS/2)
 *                     + BONUS·[cluster(u) is a candidate cluster of i],
 *    so every user of the candidate set ranks above every user outside it, as
 *    in the original two-step method, and the WoE sum orders users within each.
 */
import { Rng, kmeans } from '@ralm/model';
import { binaryUserFeatures, scoreSparseLinear, type BinaryUserFeatures, type SparseItemModel } from '../features';
import { itemsBySeedCount, trainUsersOf } from '../split';
import type { Competitor, PairScorer, TimeSplit } from '../types';

/** Score added for membership of a candidate cluster; the WoE sum is clamped to ±BONUS/2 so membership always dominates. */
export const YAHOO_CLUSTER_BONUS = 1e4;

export interface YahooOptions {
  /** Clusters k. Default 50. */
  clusters?: number;
  /** Random-projection dimension before k-means. Default 64. */
  dims?: number;
  /** Train users k-means is fitted on at most (a seeded sample); everyone is then assigned. Default 50,000. */
  maxClusterUsers?: number;
  /** Lloyd iterations at most. Default 25. */
  maxIterations?: number;
  /** IV threshold. Default 0.5. */
  ivThreshold?: number;
  /** Features kept when none passes the threshold. Default 5. */
  fallbackFeatures?: number;
}

/** A fitted Yahoo look-alike model, with what its fitting managed to do. */
export interface YahooScorer extends PairScorer {
  /** Items with a feature filter and candidate clusters. */
  readonly trainedItems: number;
  /** Items with seeds left out because `budgetMs` ran out (they score 0). */
  readonly skippedItems: number;
  /** Cluster of every user row. */
  readonly clusterOf: Int32Array;
  /** Mean over trained items of the features kept by the IV filter. */
  readonly meanKeptFeatures: number;
  /** Wall-clock fitting time, ms. */
  readonly fitMs: number;
}

const DEFAULTS: Required<YahooOptions> = { clusters: 50, dims: 64, maxClusterUsers: 50_000, maxIterations: 25, ivThreshold: 0.5, fallbackFeatures: 5 };

/** WoE of a binary feature's two values and its information value, from its 2×2 seed/non-seed counts (see step 3). */
export interface InformationValue {
  /** ln(p₁/q₁): the evidence of having the feature. */
  woeActive: number;
  /** ln(p₀/q₀): the evidence of lacking it. */
  woeInactive: number;
  iv: number;
}

/**
 * Information value of a binary feature with +0.5 smoothing per cell:
 * `seedsWith` of `seeds` seeds and `othersWith` of `others` non-seeds have it.
 */
export function informationValue(seedsWith: number, seeds: number, othersWith: number, others: number): InformationValue {
  const p1 = (seedsWith + 0.5) / (seeds + 1);
  const p0 = (seeds - seedsWith + 0.5) / (seeds + 1);
  const q1 = (othersWith + 0.5) / (others + 1);
  const q0 = (others - othersWith + 0.5) / (others + 1);
  const woeActive = Math.log(p1 / q1);
  const woeInactive = Math.log(p0 / q0);
  return { woeActive, woeInactive, iv: (p1 - q1) * woeActive + (p0 - q0) * woeInactive };
}

/**
 * Fits the Yahoo look-alike model: clusters once, then a feature filter and
 * candidate clusters per item with seeds, most seeds first, until `budgetMs`
 * runs out (items left over score 0). Deterministic for `seed`.
 */
export async function fitYahooLookalike(split: TimeSplit, options: { seed: number; budgetMs?: number }, hyper: YahooOptions = {}): Promise<YahooScorer> {
  const started = performance.now();
  const h = { ...DEFAULTS, ...hyper };
  const trainUsers = trainUsersOf(split);
  const features = binaryUserFeatures(split.dataset, trainUsers);
  const rng = new Rng(options.seed);
  const { clusterOf, k } = clusterUsers(features, trainUsers, h, rng);

  const T = trainUsers.length;
  const clusterSize = new Float64Array(k);
  const featureCount = new Float64Array(features.size);
  for (const u of trainUsers) {
    clusterSize[clusterOf[u]!]++;
    for (const f of features.rows[u]!) featureCount[f]++;
  }

  const nItems = split.trainSeeds.length;
  const models = new Array<SparseItemModel | undefined>(nItems);
  const candidates = new Array<Uint8Array | undefined>(nItems);
  const seedWith = new Float64Array(features.size);
  const seedsIn = new Float64Array(k);
  const iv = new Float64Array(features.size);
  const woe = new Float64Array(features.size);
  const order = itemsBySeedCount(split.trainSeeds);
  let trained = 0;
  let keptTotal = 0;
  for (const i of order) {
    if (options.budgetMs !== undefined && performance.now() - started > options.budgetMs) break;
    const seeds = split.trainSeeds[i]!;
    const S = seeds.length;
    seedWith.fill(0);
    seedsIn.fill(0);
    for (const u of seeds) {
      seedsIn[clusterOf[u]!]++;
      for (const f of features.rows[u]!) seedWith[f]++;
    }
    const isCandidate = new Uint8Array(k);
    for (let c = 0; c < k; c++) isCandidate[c] = seedsIn[c]! > 0 && seedsIn[c]! * T >= clusterSize[c]! * S ? 1 : 0;
    candidates[i] = isCandidate;

    let kept = 0;
    for (let f = 0; f < features.size; f++) {
      const v = informationValue(seedWith[f]!, S, featureCount[f]! - seedWith[f]!, T - S);
      iv[f] = v.iv;
      woe[f] = v.woeActive;
      if (v.iv > h.ivThreshold) kept++;
    }
    let ids: Int32Array;
    if (kept > 0) {
      ids = new Int32Array(kept);
      for (let f = 0, j = 0; f < features.size; f++) if (iv[f]! > h.ivThreshold) ids[j++] = f;
    } else {
      // Largest IV first, ties by feature id: deterministic.
      const all = Int32Array.from({ length: features.size }, (_, f) => f);
      ids = all.sort((a, b) => iv[b]! - iv[a]! || a - b).slice(0, Math.min(h.fallbackFeatures, features.size)).sort();
    }
    const weights = new Float32Array(ids.length);
    for (let j = 0; j < ids.length; j++) weights[j] = woe[ids[j]!]!;
    models[i] = { bias: 0, features: ids, weights };
    keptTotal += ids.length;
    trained++;
  }

  const half = YAHOO_CLUSTER_BONUS / 2;
  return {
    name: 'Yahoo look-alike',
    trainedItems: trained,
    skippedItems: order.length - trained,
    clusterOf,
    meanKeptFeatures: trained > 0 ? keptTotal / trained : 0,
    fitMs: performance.now() - started,
    score(users, items) {
      const out = scoreSparseLinear(features, models, users, items, 0);
      for (let p = 0; p < out.length; p++) {
        const isCandidate = candidates[items[p]!];
        if (!isCandidate) continue; // no model: stays 0
        const s = Math.max(-half, Math.min(half, out[p]!));
        out[p] = s + (isCandidate[clusterOf[users[p]!]!] ? YAHOO_CLUSTER_BONUS : 0);
      }
      return out;
    },
  };
}

/** The Yahoo look-alike competitor with default hyper-parameters. */
export const yahooLookalike: Competitor = (split, options) => fitYahooLookalike(split, options);

/** Step 1: projection, k-means on (a sample of) the train users, nearest-centroid assignment of every user. */
function clusterUsers(features: BinaryUserFeatures, trainUsers: Int32Array, h: Required<YahooOptions>, rng: Rng): { clusterOf: Int32Array; k: number } {
  const dim = h.dims;
  const nUsers = features.rows.length;
  const scale = 1 / Math.sqrt(dim);
  // R stored feature-major so projecting a sparse row reads contiguous memory.
  const projection = new Float32Array(features.size * dim);
  for (let j = 0; j < projection.length; j++) projection[j] = rng.next() < 0.5 ? -scale : scale;
  const project = (u: number, out: Float32Array, at: number) => {
    const row = features.rows[u]!;
    if (row.length === 0) return; // no features: the origin
    const norm = 1 / Math.sqrt(row.length);
    for (const f of row) for (let t = 0; t < dim; t++) out[at + t] += projection[f * dim + t]! * norm;
  };

  let sample = trainUsers;
  if (trainUsers.length > h.maxClusterUsers) {
    sample = trainUsers.slice();
    rng.shuffle(sample);
    sample = sample.slice(0, h.maxClusterUsers).sort();
  }
  if (sample.length === 0) return { clusterOf: new Int32Array(nUsers), k: 1 };
  const points = new Float32Array(sample.length * dim);
  for (let j = 0; j < sample.length; j++) project(sample[j]!, points, j * dim);
  const result = kmeans(points, dim, h.clusters, rng.fork(), h.maxIterations);

  const clusterOf = new Int32Array(nUsers);
  const y = new Float32Array(dim);
  for (let u = 0; u < nUsers; u++) {
    y.fill(0);
    project(u, y, 0);
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < result.k; c++) {
      let d = 0;
      for (let t = 0; t < dim; t++) {
        const e = y[t]! - result.centroids[c * dim + t]!;
        d += e * e;
      }
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    clusterOf[u] = best;
  }
  return { clusterOf, k: result.k };
}
