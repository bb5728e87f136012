import type { ServingModel } from '@ralm/model';
import type { UserEmbeddingConfig } from './config';
import type { EmbeddingCache } from './domain/embedding-cache';

/** The model the service answers with; absent until a trained model is published and loaded. */
export type LoadedModel = ServingModel;

/** Where handlers find the current model; swapped atomically by the model slot. */
export interface ModelSlot {
  current(): LoadedModel | undefined;
}

export interface UserEmbeddingDeps {
  readonly config: UserEmbeddingConfig;
  readonly model: ModelSlot;
  /** Recent EmbedFeatures results, so a new user calling again is not re-embedded. */
  readonly cache: EmbeddingCache;
}
