import { z } from 'zod';
import { experimentConfigShape } from '@ralm/experiment';
import { commonConfigShape, env, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
  ...experimentConfigShape,
  /** Where the trainer writes model versions (`<MODEL_ROOT>/<version>/`); the newest is loaded at start. */
  MODEL_ROOT: env.path('.ralm/models'),
  /** Durable consumer name on `ralm.v1.model.published`; each replica needs its own, so every replica loads every model. */
  MODELS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('lookalike-scorer'),
  /** Durable name prefix of the candidate / seeds / clusters subscriptions (replayed from the stream's start at every start). */
  DURABLE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('lookalike-scorer'),
  /** The clusterer's gRPC address (GetClusters). */
  CLUSTERER_ADDR: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port').default('clusterer:50051'),
  /** Seeds a candidate needs to be servable (paper: 100); fewer is reported as TOO_FEW_SEEDS, never scored. */
  SERVABLE_MIN_SEEDS: env.positiveInt(100),
  /** Clusters per candidate in the scoring table (the clusterer's CLUSTER_K). */
  SCORER_K: env.positiveInt(20),
  /** How long a Score call waits for others to share one matrix–matrix product; 0 = only calls of the same event-loop turn. */
  BATCH_WINDOW_MS: env.nonNegativeInt(0),
  /** Most users scored in one product. */
  MAX_BATCH_USERS: env.positiveInt(32),
  /** Scoring kernel: `auto` (the native OpenBLAS addon when built, else TypeScript) or one of them explicitly. */
  SCORING_KERNEL: z.enum(['auto', 'native', 'typescript']).default('auto'),
});

export type LookalikeScorerConfig = z.output<typeof schema>;

export function loadLookalikeScorerConfig(environment: NodeJS.ProcessEnv): LookalikeScorerConfig {
  return loadConfig(schema, environment);
}
