import { z } from 'zod';
import { commonConfigShape, env, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
  /** Where the trainer writes model versions (`<MODEL_ROOT>/<version>/`); the newest is loaded at start, unless MODEL_VERSION pins one. */
  MODEL_ROOT: env.path('.ralm/models'),
  /**
   * Pins the model: the version directory under MODEL_ROOT to serve (e.g. `20261128T153000-1a2b3c4d`).
   * Start fails unless it loads, and `model.published` for other versions is ignored, so a
   * rollout or rollback is a change of this value. Unset: serve the newest and swap to each
   * published model. Pin the lookalike-scorer to the same version: the clusterer clusters with
   * the version this service serves, and the scorer uses only clusters of its own version.
   */
  MODEL_VERSION: env.modelVersion(),
  /** Durable consumer name on `ralm.v1.model.published`; each replica needs its own (e.g. the pod name), so every replica loads every model. */
  MODELS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('user-embedding'),
  /**
   * Seconds the MODELS_DURABLE durable outlives its subscriber before the bus deletes it
   * (e.g. 3600 with per-pod names, so the durables of pods long gone do not pile up in
   * JetStream). 0 = kept forever.
   */
  DURABLE_INACTIVE_SECONDS: env.nonNegativeInt(0),
  /** EmbedFeatures results kept (LRU), keyed by model version and features; ~1 KB each at d = h = 128. */
  EMBED_CACHE_SIZE: env.positiveInt(100_000),
});

export type UserEmbeddingConfig = z.output<typeof schema>;

export function loadUserEmbeddingConfig(environment: NodeJS.ProcessEnv): UserEmbeddingConfig {
  return loadConfig(schema, environment);
}
