import { modelRootSource } from '@ralm/model';
import { createModelSlot, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import type { UserEmbeddingConfig } from './config';
import { EmbeddingCache } from './domain/embedding-cache';
import type { UserEmbeddingDeps } from './ports';
import { USER_EMBEDDING_PROTO, userEmbeddingBinding } from './server';

export interface UserEmbeddingModule extends ServiceModule {
  readonly deps: UserEmbeddingDeps;
}

export function createUserEmbedding(config: UserEmbeddingConfig, platform: ServiceDeps): UserEmbeddingModule {
  const slot = createModelSlot({
    bus: platform.bus,
    logger: platform.logger,
    durable: config.MODELS_DURABLE,
    inactiveAfterSeconds: config.DURABLE_INACTIVE_SECONDS,
    ...modelRootSource(config.MODEL_ROOT),
    pinned: config.MODEL_VERSION,
    // The old model's weights are released once nothing new can pick it up; replies in flight hold plain arrays.
    onSwap: (_next, previous) => previous?.model.dispose(),
  });
  const deps: UserEmbeddingDeps = { config, model: slot, cache: new EmbeddingCache(config.EMBED_CACHE_SIZE) };
  return {
    deps,
    bindings: [userEmbeddingBinding(deps)],
    protoFiles: [USER_EMBEDDING_PROTO],
    start: () => slot.start(),
    stop: () => slot.stop(),
  };
}
