/**
 * The treatment's look-alike scores, by the path the services take: the Clusterer's
 * clustering (k-means on the seeds' look-alike embeddings T(u), fitted on a sample of at most
 * 20,000 and every seed then assigned once; centroid = the members' mean universal
 * embedding), the LookalikeScorer's precomputation (clusters by size, largest k kept,
 * `precomputeCandidates`, written into the kernel's table by `writeSlot`) and its kernel.
 */
import type { Dataset } from '@ralm/data';
import type { KernelTable, ScoringKernel } from '@ralm/kernel';
import { AssignmentAccumulator, embedRawFeatures, fitSample, gatherRows, precomputeCandidates, Rng, sampleIndices, type RawFeatures, type ServingModel } from '@ralm/model';

/** The Clusterer's default CLUSTER_SAMPLE_SIZE. */
const CLUSTER_SAMPLE_SIZE = 20_000;
const EMBED_BATCH = 1024;
const SCORE_BATCH = 512;

/** Both embeddings of every dataset user, by user row. */
export interface UserEmbeddings {
  /** users × d */
  universal: Float32Array;
  /** users × h */
  lookalike: Float32Array;
  d: number;
  h: number;
  /** Users absent from the model's store, embedded from their profile fields as the scorer embeds a first-time visitor. */
  fromFeatures: number;
}

/** Store embeddings where the model knows the user, profile embeddings (`embedRawFeatures`) elsewhere. */
export function userEmbeddings(serving: ServingModel, dataset: Dataset): UserEmbeddings {
  const { userDim: d, lookalikeDim: h } = serving;
  const ids = dataset.users.ids;
  const universal = new Float32Array(ids.length * d);
  const lookalike = new Float32Array(ids.length * h);
  const missing: number[] = [];
  ids.forEach((id, u) => {
    const row = serving.rows.get(id);
    if (row === undefined) return void missing.push(u);
    universal.set(serving.universal.subarray(row * d, row * d + d), u * d);
    lookalike.set(serving.lookalike.subarray(row * h, row * h + h), u * h);
  });
  const columns = [...dataset.users.fields].filter(([name]) => serving.fields.has(name));
  for (let s = 0; s < missing.length; s += EMBED_BATCH) {
    const rows = missing.slice(s, s + EMBED_BATCH);
    const raw = rows.map((u) => {
      const features: RawFeatures = {};
      for (const [name, column] of columns) {
        const v = column.values[u];
        if (v !== '' && !(typeof v === 'number' && !Number.isFinite(v))) features[name] = v;
      }
      return features;
    });
    const out = embedRawFeatures(serving, raw);
    rows.forEach((u, r) => {
      universal.set(out.universal.subarray(r * d, r * d + d), u * d);
      lookalike.set(out.lookalike.subarray(r * h, r * h + h), u * h);
    });
  }
  return { universal, lookalike, d, h, fromFeatures: missing.length };
}

/** One day's servable long-tail candidates, in the kernel's layout. */
export interface LookalikeTable {
  /** Item row of each table slot. */
  items: Int32Array;
  table: KernelTable;
}

/**
 * Clusters each item's seeds and precomputes the candidates into one kernel table.
 * `seeds[j]` are the user rows of items[j]'s seeds; `seed` makes k-means reproducible.
 */
export function lookalikeTable(serving: ServingModel, emb: UserEmbeddings, items: Int32Array, seeds: Int32Array[], k: number, seed: number): LookalikeTable {
  const { d, h } = emb;
  const centroids = new Float32Array(items.length * k * d);
  const mask = new Float32Array(items.length * k);
  const sizes = new Float32Array(items.length * k);
  items.forEach((item, j) => {
    const members = seeds[j]!;
    const rng = new Rng((seed ^ Math.imul(item + 1, 0x9e3779b1)) >>> 0);
    const sample = members.length <= CLUSTER_SAMPLE_SIZE ? members : Int32Array.from(sampleIndices(members.length, CLUSTER_SAMPLE_SIZE, rng), (r) => members[r]!);
    const fit = fitSample(gatherRows(emb.lookalike, sample, h), h, k, rng, { tolerance: 1e-4 });
    const acc = new AssignmentAccumulator(fit.centroids, fit.k, h, d);
    acc.add(gatherRows(emb.lookalike, members, h), gatherRows(emb.universal, members, d));
    const result = acc.result();
    const order = Array.from({ length: result.k }, (_, c) => c).sort((a, b) => result.sizes[b]! - result.sizes[a]!).slice(0, k);
    order.forEach((c, slot) => {
      centroids.set(result.companionMeans.subarray(c * d, c * d + d), (j * k + slot) * d);
      mask[j * k + slot] = 1;
      sizes[j * k + slot] = result.sizes[c]!;
    });
  });
  const table = precomputeCandidates(serving.model, centroids, mask, items.length, sizes);
  return { items, table };
}

/**
 * Each user's candidates with score ≥ threshold, best first (ties by item row), as item rows.
 * `users` are user rows; scored in batches with the serving kernel.
 */
export function rankedExtensions(serving: ServingModel, emb: UserEmbeddings, lt: LookalikeTable, kernel: ScoringKernel, users: Int32Array, threshold: number): Int32Array[] {
  const lists: Int32Array[] = [];
  const count = lt.items.length;
  for (let s = 0; s < users.length; s += SCORE_BATCH) {
    const batch = users.subarray(s, s + SCORE_BATCH);
    const out = kernel.score(lt.table, gatherRows(emb.lookalike, batch, emb.h), batch.length, serving.alpha, serving.beta);
    for (let b = 0; b < batch.length; b++) {
      const row = out.subarray(b * count, (b + 1) * count);
      const kept: number[] = [];
      for (let c = 0; c < count; c++) if (row[c]! >= threshold) kept.push(c);
      kept.sort((x, y) => row[y]! - row[x]! || lt.items[x]! - lt.items[y]!);
      lists.push(Int32Array.from(kept, (c) => lt.items[c]!));
    }
  }
  return lists;
}

