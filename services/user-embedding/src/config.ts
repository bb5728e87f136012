import { z } from 'zod';
import { commonConfigShape, env, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
  /** Where the trainer writes model versions (`<MODEL_ROOT>/<version>/`); the newest is loaded at start. */
  MODEL_ROOT: env.path('.ralm/models'),
  /** Durable consumer name on `ralm.v1.model.published`; each replica needs its own, so every replica loads every model. */
  MODELS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('user-embedding'),
  /** EmbedFeatures results kept (LRU), keyed by model version and features; ~1 KB each at d = h = 128. */
  EMBED_CACHE_SIZE: env.positiveInt(100_000),
});

export type UserEmbeddingConfig = z.output<typeof schema>;

export function loadUserEmbeddingConfig(environment: NodeJS.ProcessEnv): UserEmbeddingConfig {
  return loadConfig(schema, environment);
}
