import type { FieldKind, FieldSpec, Users } from '@ralm/data';

/** Index 0 of every vocabulary: missing or out-of-vocabulary. Its rows never reach the model (masked). */
export const OOV = 0;
/** Multivalent fields keep at most this many ids per user (the first ones); more add cost, not signal. */
export const MAX_MULTIVALENT_IDS = 50;

export interface FieldVocabulary {
  name: string;
  kind: FieldKind;
  /** Categorical ids in index order; index i + 1 in the embedding table (0 is OOV). Empty for continuous. */
  ids: string[];
  /** Continuous scaling: x' = clip((x − min) / (max − min), 0, 1). */
  min: number;
  max: number;
}

/** The field schema with its vocabularies: what turns raw user features into model inputs. */
export interface FeatureSchema {
  fields: FieldVocabulary[];
}

/**
 * Builds vocabularies from the training users only (ids seen in at least
 * `minCount` of them), so validation users meet out-of-vocabulary ids as
 * real new users would.
 */
export function buildFeatureSchema(fields: FieldSpec[], users: Users, trainingRows: ArrayLike<number>, minCount = 1): FeatureSchema {
  return {
    fields: fields.map((spec) => {
      const column = users.fields.get(spec.name);
      if (!column || column.kind !== spec.kind) throw new Error(`users have no ${spec.kind} column '${spec.name}'`);
      if (column.kind === 'continuous') {
        let min = Infinity;
        let max = -Infinity;
        for (let r = 0; r < trainingRows.length; r++) {
          const v = column.values[trainingRows[r]!]!;
          if (Number.isFinite(v)) {
            if (v < min) min = v;
            if (v > max) max = v;
          }
        }
        if (!Number.isFinite(min)) [min, max] = [0, 1];
        return { name: spec.name, kind: spec.kind, ids: [], min, max };
      }
      const counts = new Map<string, number>();
      for (let r = 0; r < trainingRows.length; r++) {
        const value = column.values[trainingRows[r]!]!;
        for (const id of typeof value === 'string' ? (value ? [value] : []) : new Set(value as string[])) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      const ids = [...counts].filter(([, c]) => c >= minCount).map(([id]) => id).sort();
      return { name: spec.name, kind: spec.kind, ids, min: 0, max: 0 };
    }),
  };
}

/**
 * One batch of users as flat typed arrays, ready to become tensors.
 * n = fields, B = users, L = longest kept multivalent list in the batch.
 */
export interface EncodedBatch {
  size: number;
  /** Per field, in schema order. */
  fields: EncodedField[];
  /** B × n: 1 where the field has a value the model knows, 0 where it is masked. */
  present: Float32Array;
}

export type EncodedField =
  | { kind: 'univalent'; ids: Int32Array }
  | { kind: 'multivalent'; ids: Int32Array; weights: Float32Array; width: number }
  | { kind: 'continuous'; values: Float32Array };

/** Raw feature values of one user, as the UserFeatures message carries them. */
export type RawFeatures = Record<string, string | string[] | number | undefined>;

/** Encodes raw users against a schema: ids to vocabulary indices (0 when unknown), averages as weights, numbers scaled. */
export class FeatureEncoder {
  private readonly lookups: Array<Map<string, number>>;

  constructor(readonly schema: FeatureSchema) {
    this.lookups = schema.fields.map((f) => new Map(f.ids.map((id, i) => [id, i + 1])));
  }

  get fieldCount(): number {
    return this.schema.fields.length;
  }

  /** Rows of a dataset's users table. */
  encodeRows(users: Users, rows: ArrayLike<number>): EncodedBatch {
    const raw: RawFeatures[] = [];
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const features: RawFeatures = {};
      for (const f of this.schema.fields) {
        const column = users.fields.get(f.name)!;
        features[f.name] = column.values[row] as string | string[] | number;
      }
      raw.push(features);
    }
    return this.encode(raw);
  }

  encode(users: RawFeatures[]): EncodedBatch {
    const B = users.length;
    const n = this.fieldCount;
    const present = new Float32Array(B * n);
    const fields = this.schema.fields.map((field, fi): EncodedField => {
      const lookup = this.lookups[fi]!;
      if (field.kind === 'univalent') {
        const ids = new Int32Array(B);
        users.forEach((u, b) => {
          const v = u[field.name];
          ids[b] = typeof v === 'string' ? (lookup.get(v) ?? OOV) : OOV;
          present[b * n + fi] = ids[b]! === OOV ? 0 : 1;
        });
        return { kind: 'univalent', ids };
      }
      if (field.kind === 'multivalent') {
        const known = users.map((u) => {
          const v = u[field.name];
          const list = Array.isArray(v) ? v : [];
          const out: number[] = [];
          for (const id of list) {
            const idx = lookup.get(id);
            if (idx !== undefined) out.push(idx);
            if (out.length === MAX_MULTIVALENT_IDS) break;
          }
          return out;
        });
        const width = Math.max(1, ...known.map((k) => k.length));
        const ids = new Int32Array(B * width);
        const weights = new Float32Array(B * width);
        known.forEach((list, b) => {
          list.forEach((idx, j) => {
            ids[b * width + j] = idx;
            weights[b * width + j] = 1 / list.length;
          });
          present[b * n + fi] = list.length > 0 ? 1 : 0;
        });
        return { kind: 'multivalent', ids, weights, width };
      }
      const values = new Float32Array(B);
      const span = field.max - field.min || 1;
      users.forEach((u, b) => {
        const v = u[field.name];
        if (typeof v === 'number' && Number.isFinite(v)) {
          values[b] = Math.min(1, Math.max(0, (v - field.min) / span));
          present[b * n + fi] = 1;
        }
      });
      return { kind: 'continuous', values };
    });
    return { size: B, fields, present };
  }
}
