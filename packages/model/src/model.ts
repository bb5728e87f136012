import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { FeatureEncoder, type FeatureSchema, type RawFeatures } from './features';
import { LookalikeModel } from './lookalike';
import { Params } from './params';
import { Rng } from './rng';
import { UserTower } from './user-tower';

/** Facts about a trained model that travel with it (the artifact manifest carries them). */
export interface ModelInfo {
  version: string;
  createdAtMs: number;
  dataFingerprint: string;
  jobId: string;
  metrics: Record<string, number>;
  /** τ actually used: the learned value, or the configured one. */
  temperature: number;
}

/** Embeddings of every user the model was trained on, by user id order. */
export interface EmbeddingStore {
  userIds: string[];
  /** N × d */
  universal: Float32Array;
  /** N × h, T(u) */
  lookalike: Float32Array;
}

/**
 * A complete RALM model: feature schema, phase-1 user tower and item table,
 * phase-2 look-alike model, and the embeddings of the training users.
 */
export class RalmModel {
  readonly encoder: FeatureEncoder;
  readonly tower: UserTower;
  readonly lookalike: LookalikeModel;
  readonly itemParams = new Params();
  readonly itemTable: tf.Variable;

  constructor(
    readonly config: ModelConfig,
    readonly schema: FeatureSchema,
    readonly itemIds: string[],
    public info: ModelInfo,
    public store: EmbeddingStore,
  ) {
    const rng = new Rng(config.seed);
    this.encoder = new FeatureEncoder(schema);
    this.tower = new UserTower(schema, config, rng);
    this.itemTable = this.itemParams.add('item.embedding', [itemIds.length, config.userDim], 'embedding', rng);
    this.lookalike = new LookalikeModel(config, rng);
  }

  /** Every trainable parameter, by name. */
  allParams(): Params[] {
    return [this.tower.params, this.itemParams, this.lookalike.params];
  }

  /** u and e_u = T(u) for users described by raw features (users the store never saw). */
  embedFeatures(users: RawFeatures[]): { universal: Float32Array; lookalike: Float32Array } {
    return tf.tidy(() => {
      const u = this.tower.apply(this.encoder.encode(users));
      const e = this.lookalike.transform(u);
      return { universal: u.dataSync() as Float32Array, lookalike: e.dataSync() as Float32Array };
    });
  }

  /** e_u = T(u) for universal embeddings (B × d → B × h). */
  embedUniversal(universal: Float32Array): Float32Array {
    const d = this.config.userDim;
    return tf.tidy(() => this.lookalike.transform(tf.tensor2d(universal, [universal.length / d, d])).dataSync() as Float32Array);
  }

  /**
   * Scores B (user, seed clusters) pairs with the spec's formulas, straight
   * through the tfjs graph: the reference the fast serving kernel is checked against.
   */
  scoreWithCentroids(universal: Float32Array, centroids: Float32Array, mask: Float32Array, k: number, sizes?: Float32Array): Float32Array {
    const d = this.config.userDim;
    const B = universal.length / d;
    return tf.tidy(() => {
      const { score } = this.lookalike.score(tf.tensor2d(universal, [B, d]), tf.tensor3d(centroids, [B, k, d]), tf.tensor2d(mask, [B, k]), sizes && tf.tensor2d(sizes, [B, k]));
      return score.dataSync() as Float32Array;
    });
  }

  learnedTemperature(): number {
    return tf.tidy(() => this.lookalike.temperature().dataSync()[0]!);
  }

  dispose(): void {
    for (const p of this.allParams()) p.dispose();
  }
}
