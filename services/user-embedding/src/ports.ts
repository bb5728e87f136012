import type { UserEmbeddingConfig } from './config';

/** The model the service answers with; absent until a trained model is published and loaded. */
export interface LoadedModel {
  readonly version: string;
  /** d: length of universal embeddings. */
  readonly userDim: number;
  /** h: length of look-alike embeddings. */
  readonly lookalikeDim: number;
  /** Row of each known user in the embedding matrices. */
  readonly rows: ReadonlyMap<string, number>;
  /** N × d, row-major. */
  readonly universal: Float32Array;
  /** N × h, row-major: e_u = T(u). */
  readonly lookalike: Float32Array;
}

/** Where handlers find the current model; swapped atomically by the model loader. */
export interface ModelSlot {
  current(): LoadedModel | undefined;
}

export interface UserEmbeddingDeps {
  readonly config: UserEmbeddingConfig;
  readonly model: ModelSlot;
}
