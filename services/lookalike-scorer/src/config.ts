import { z } from 'zod';
import { experimentConfigShape } from '@ralm/experiment';
import { commonConfigShape, env, loadConfig, lookalikeRulesShape } from '@ralm/platform';
import { TABLE_PRECISIONS } from '@ralm/kernel';

const schema = z.object({
  ...commonConfigShape,
  ...experimentConfigShape,
  // SERVABLE_MIN_SEEDS (fewer is TOO_FEW_SEEDS, never scored, whatever clusters exist) and CLUSTER_K (slots per candidate).
  ...lookalikeRulesShape,
  /** Where the trainer writes model versions (`<MODEL_ROOT>/<version>/`); the newest is loaded at start, unless MODEL_VERSION pins one. */
  MODEL_ROOT: env.path('.ralm/models'),
  /**
   * Pins the model: the version directory under MODEL_ROOT to serve (e.g. `20261128T153000-1a2b3c4d`).
   * Start fails unless it loads, and `model.published` for other versions is ignored, so a
   * rollout or rollback is a change of this value. Unset: serve the newest and swap to each
   * published model. Pin user-embedding to the same version: clusters come from the version it
   * serves, and this service uses only clusters of its own version.
   */
  MODEL_VERSION: env.modelVersion(),
  /** Durable consumer name on `ralm.v1.model.published`; each replica needs its own (e.g. the pod name), so every replica loads every model. */
  MODELS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('lookalike-scorer'),
  /**
   * Durable name prefix of the candidate / seeds / clusters subscriptions (replayed from the
   * stream's start at every start); each replica needs its own (e.g. the pod name), so every
   * replica sees every event.
   */
  DURABLE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('lookalike-scorer'),
  /**
   * Seconds the MODELS_DURABLE and DURABLE_PREFIX durables outlive their subscriber before the
   * bus deletes them (e.g. 3600 with per-pod names, so the durables of pods long gone do not
   * pile up in JetStream). 0 = kept forever.
   */
  DURABLE_INACTIVE_SECONDS: env.nonNegativeInt(0),
  /** The clusterer's gRPC address (GetClusters). */
  CLUSTERER_ADDR: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port').default('clusterer:50051'),
  /** The seed collector's gRPC address (ListSeeds: the seeds ExpandAudience leaves out). */
  SEED_COLLECTOR_ADDR: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port').default('seed-collector:50051'),
  /**
   * Fewest users an ExpandAudience may return: a smaller audience is refused, so that an
   * expansion cannot single out a handful of people (ad platforms use minimums of this kind).
   */
  MIN_AUDIENCE_SIZE: env.positiveInt(100),
  /**
   * Longest a new model's table may take to be complete (every servable candidate
   * clustered with it and loaded) before the scorer serves with what it has: at a
   * rollout the previous model answers meanwhile, at a start the scorer is NOT_SERVING.
   * 0 = wait forever. The default fits in the chart's 10-minute startup probe.
   */
  ROLLOUT_TIMEOUT_SECONDS: env.nonNegativeInt(540),
  /** How long a Score call waits for others to share one matrix–matrix product; 0 = only calls of the same event-loop turn. */
  BATCH_WINDOW_MS: env.nonNegativeInt(0),
  /** Most users scored in one product. */
  MAX_BATCH_USERS: env.positiveInt(32),
  /**
   * γ of the ranking across candidates when a request leaves `item_prior_weight` unset:
   * ranking_score = score + γ·ln(1 + seeds) (kernel `rankingScore`). 0 ranks by the raw look-alike score.
   */
  ITEM_PRIOR_WEIGHT: z.coerce.number().finite().min(0).max(10).default(0),
  /** Scoring kernel: `auto` (the native OpenBLAS addon when built, else TypeScript) or one of them explicitly. */
  SCORING_KERNEL: z.enum(['auto', 'native', 'typescript']).default('auto'),
  /**
   * How the candidate table holds its rows: `float32` (the reference) or `int8` (per-row affine
   * codes: 0.32× the bytes, one user ~2.5× and a batch ~2× faster on the native kernel; scores
   * within 0.01 of float32's, top-100 agreement ≥ 0.99; docs/BENCHMARKS.md).
   */
  SCORE_TABLE_PRECISION: z.enum(TABLE_PRECISIONS).default('float32'),
});

export type LookalikeScorerConfig = z.output<typeof schema>;

export function loadLookalikeScorerConfig(environment: NodeJS.ProcessEnv): LookalikeScorerConfig {
  return loadConfig(schema, environment);
}
