import { z } from 'zod';
import { commonConfigShape, env, loadConfig, lookalikeRulesShape } from '@ralm/platform';

const address = (fallback: string) => z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port').default(fallback);

const schema = z.object({
  ...commonConfigShape,
  // SERVABLE_MIN_SEEDS (clustering starts there) and CLUSTER_K, shared with the scorer.
  ...lookalikeRulesShape,
  /** Seconds after which a candidate whose seeds changed is re-clustered (paper: every 5 minutes). */
  RECLUSTER_INTERVAL_SECONDS: env.positiveInt(300),
  /** Re-cluster sooner once the seed count grew by this fraction since the last clustering (0.5 = by half). */
  RECLUSTER_GROWTH_FRACTION: z.coerce.number().positive().default(0.5),
  /** Seeds k-means is fitted on (a uniform sample); every seed is then assigned in one pass. Smaller sets are clustered whole. */
  CLUSTER_SAMPLE_SIZE: env.positiveInt(20_000),
  /**
   * Seeds assigned to the fitted centroids per recluster: past it a uniform sample is
   * assigned and sizes are scaled, so a 3M-seed candidate's recluster fetches 200,000
   * seeds' embeddings, not 3M (docs/BENCHMARKS.md, "Clustering seeds": accuracy). 0 = all.
   */
  CLUSTER_ASSIGN_SAMPLE_SIZE: env.nonNegativeInt(200_000),
  /**
   * Split–merge moves tried after Lloyd's rounds on the sample (packages/model kmeans-swap.ts):
   * each is kept only if the inertia fell, so they lift a fit out of a basin where two seed
   * groups share a centre. 0 = plain Lloyd, about 3× faster on 1,000 seeds at ~2.5 % higher
   * inertia (docs/BENCHMARKS.md, "Split–merge moves"). Unset: fitSample's default, 2·CLUSTER_K.
   */
  CLUSTER_SWAPS: z.coerce.number().int().min(0).optional(),
  /** Users per GetEmbeddings call (≤ 10,000; 4,000 × 128 floats keeps replies under gRPC's 4 MB default). */
  EMBEDDING_BATCH: z.coerce.number().int().min(1).max(10_000).default(4_000),
  /** Seed of the k-means initialisation, so a clustering can be reproduced. */
  CLUSTER_SEED: env.nonNegativeInt(20190804),
  /** How often due candidates are looked for, besides each seeds.updated event. */
  PLANNER_TICK_MS: env.positiveInt(1000),
  /** The seed collector's gRPC address. */
  SEED_COLLECTOR_ADDR: address('seed-collector:50051'),
  /** The user-embedding service's gRPC address: the clusterer loads no model, it asks that service for embeddings. */
  USER_EMBEDDING_ADDR: address('user-embedding:50051'),
  /**
   * The model version to cluster with, pinned like user-embedding's and the scorer's
   * MODEL_VERSION (set all three to the same value; the chart does). Pinned, the clusterer
   * re-clusters at start every candidate whose clustering has another version, asks only
   * for this version's embeddings (waiting while user-embedding does not serve it yet, during
   * a rollout) and ignores `model.published` for others. Unset: it follows the published models.
   */
  MODEL_VERSION: env.modelVersion(),
  /** How often UserEmbedding is asked which model it serves (besides each model.published), so a swap no event announced is seen. */
  MODEL_PROBE_INTERVAL_MS: env.positiveInt(5000),
  /** How long a published model may take to be served by UserEmbedding before the clusterer logs an error and stops asking early. */
  MODEL_WAIT_SECONDS: env.positiveInt(600),
  /** Seed memberships per group of a bulk re-clustering (a new model): each group's distinct users are fetched once. */
  BULK_GROUP_SEEDS: env.positiveInt(250_000),
  /** Pinned and the pinned version not served yet: how long planned work waits before asking again. */
  PINNED_MODEL_RETRY_MS: env.positiveInt(5000),
  /** Durable consumer name prefix for this deployment's bus subscriptions (one owner: kept forever, never per replica). */
  DURABLE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('clusterer'),
  /**
   * coordinator: plans, versions, stores and serves the clusterings (one per deployment),
   * and takes clustering jobs too. worker: only takes jobs (work.ts), any number of them.
   */
  CLUSTERER_ROLE: z.enum(['coordinator', 'worker']).default('coordinator'),
  /**
   * Clusterings the coordinator has in flight at once. 1: one at a time on this process,
   * with a new model's re-clustering done in shared-fetch groups. More: each due candidate
   * is a job for the queue of workers (work.ts), this many at once.
   */
  CLUSTER_JOBS_IN_FLIGHT: env.positiveInt(1),
  /** How long a job may take on a worker before it is given up and retried (a 3M-seed candidate takes ~10 s of one core). */
  CLUSTER_JOB_TIMEOUT_SECONDS: env.positiveInt(300),
});

export type ClustererConfig = z.output<typeof schema>;

export function loadClustererConfig(environment: NodeJS.ProcessEnv): ClustererConfig {
  return loadConfig(schema, environment);
}
