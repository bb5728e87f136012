import * as tf from '@tensorflow/tfjs';
import { matMul } from './dense';
import { embeddingLookup } from './embedding';
import type { EncodedBatch, FeatureSchema } from './features';
import { Params } from './params';
import type { Rng } from './rng';

export type TowerKind = 'attention_merge' | 'concatenation';

export interface UserTowerConfig {
  tower: TowerKind;
  /** m: every field ends as a vector of this size. */
  fieldDim: number;
  /** a: attention size of the merge layer. */
  attentionSize: number;
  /** Hidden layer sizes of the MLP (ReLU); the output layer has userDim units. */
  hidden: number[];
  /** d: the universal user embedding size. */
  userDim: number;
}

/**
 * Phase-1 user tower (spec §2): per-field vectors h_i ∈ R^m, merged by
 * concatenation (YouTube DNN) or by the attention merge layer (RALM), then an
 * MLP to the universal embedding u ∈ R^d.
 */
export class UserTower {
  readonly params = new Params();

  constructor(readonly schema: FeatureSchema, readonly config: UserTowerConfig, rng: Rng) {
    const { fieldDim: m, attentionSize: a } = config;
    for (const f of schema.fields) {
      if (f.kind === 'continuous') {
        this.params.add(`user.field.${f.name}.kernel`, [1, m], 'glorot', rng);
        this.params.add(`user.field.${f.name}.bias`, [m], 'zeros', rng);
      } else {
        this.params.add(`user.field.${f.name}.embedding`, [f.ids.length + 1, m], 'embedding', rng);
      }
    }
    if (config.tower === 'attention_merge') {
      this.params.add('user.attention.w1', [m, a], 'glorot', rng);
      this.params.add('user.attention.b1', [a], 'zeros', rng);
      this.params.add('user.attention.w2', [a, 1], 'glorot', rng);
    }
    let width = config.tower === 'attention_merge' ? m : m * schema.fields.length;
    [...config.hidden, config.userDim].forEach((units, i) => {
      this.params.add(`user.mlp.${i}.kernel`, [width, units], 'glorot', rng);
      this.params.add(`user.mlp.${i}.bias`, [units], 'zeros', rng);
      width = units;
    });
  }

  /** H: B × n × m field vectors; masked fields are zero rows. */
  fieldVectors(batch: EncodedBatch): tf.Tensor3D {
    const B = batch.size;
    const n = this.schema.fields.length;
    const present = tf.tensor2d(batch.present, [B, n]);
    const vectors = this.schema.fields.map((f, fi) => {
      const encoded = batch.fields[fi]!;
      if (encoded.kind === 'continuous') {
        const x = tf.tensor2d(encoded.values, [B, 1]);
        return tf.add(matMul(x, this.params.get(`user.field.${f.name}.kernel`) as tf.Tensor2D), this.params.get(`user.field.${f.name}.bias`));
      }
      const table = this.params.get(`user.field.${f.name}.embedding`) as unknown as tf.Tensor2D;
      if (encoded.kind === 'univalent') return embeddingLookup(table, tf.tensor1d(encoded.ids, 'int32'));
      const rows = embeddingLookup(table, tf.tensor2d(encoded.ids, [B, encoded.width], 'int32'));
      // Average pooling: padding and unknown ids carry weight 0, known ids 1/count.
      return tf.sum(tf.mul(rows, tf.tensor3d(encoded.weights, [B, encoded.width, 1])), 1);
    });
    const H = tf.stack(vectors, 1) as tf.Tensor3D;
    return tf.mul(H, tf.reshape(present, [B, n, 1])) as tf.Tensor3D;
  }

  /** α: B × n attention weights of the merge layer; masked fields get exactly 0. */
  attention(H: tf.Tensor3D, present: tf.Tensor2D): tf.Tensor2D {
    const [B, n, m] = H.shape;
    const U = tf.tanh(tf.add(matMul(tf.reshape(H, [B * n, m]), this.params.get('user.attention.w1') as tf.Tensor2D), this.params.get('user.attention.b1')));
    const s = tf.reshape(matMul(U as tf.Tensor2D, this.params.get('user.attention.w2') as tf.Tensor2D), [B, n]);
    // −1e9 rather than −Infinity: a user with every field masked gets a uniform (and harmless) α over zero rows instead of NaN.
    const logits = tf.add(s, tf.mul(tf.sub(1, present), -1e9));
    return tf.mul(tf.softmax(logits), present) as tf.Tensor2D;
  }

  /** u: B × d universal embeddings. */
  apply(batch: EncodedBatch): tf.Tensor2D {
    const B = batch.size;
    const n = this.schema.fields.length;
    const H = this.fieldVectors(batch);
    let x: tf.Tensor2D;
    if (this.config.tower === 'attention_merge') {
      const alpha = this.attention(H, tf.tensor2d(batch.present, [B, n]));
      x = tf.sum(tf.mul(H, tf.reshape(alpha, [B, n, 1])), 1) as tf.Tensor2D;
    } else {
      x = tf.reshape(H, [B, n * this.config.fieldDim]);
    }
    const layers = this.config.hidden.length + 1;
    for (let i = 0; i < layers; i++) {
      x = tf.add(matMul(x, this.params.get(`user.mlp.${i}.kernel`) as tf.Tensor2D), this.params.get(`user.mlp.${i}.bias`)) as tf.Tensor2D;
      if (i < layers - 1) x = tf.relu(x);
    }
    return x;
  }
}
