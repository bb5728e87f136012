import type { ServiceDeps, ServiceModule } from '@ralm/platform';
import type { UserEmbeddingConfig } from './config';
import type { LoadedModel, ModelSlot, UserEmbeddingDeps } from './ports';
import { USER_EMBEDDING_PROTO, userEmbeddingBinding } from './server';

export interface UserEmbeddingModule extends ServiceModule {
  readonly deps: UserEmbeddingDeps;
}

export function createUserEmbedding(config: UserEmbeddingConfig, _platform: ServiceDeps): UserEmbeddingModule {
  // Stays empty until model loading lands: the handlers answer FAILED_PRECONDITION meanwhile.
  let loaded: LoadedModel | undefined;
  const model: ModelSlot = { current: () => loaded };
  const deps: UserEmbeddingDeps = { config, model };
  return { deps, bindings: [userEmbeddingBinding(deps)], protoFiles: [USER_EMBEDDING_PROTO] };
}
