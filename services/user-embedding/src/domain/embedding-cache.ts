import type { RawFeatures } from '@ralm/model';
import { RecencyMap } from '@ralm/platform/collections/recency-map';

export interface CachedEmbedding {
  universal: Float32Array;
  lookalike: Float32Array;
}

/**
 * Recent EmbedFeatures results by (model version, features): an upstream that
 * scores a new user on every request re-sends the same features, and the user
 * tower is the expensive part of that call. A new model version never hits an
 * old entry (the version is part of the key); old entries age out.
 */
export class EmbeddingCache {
  private readonly entries: RecencyMap<string, CachedEmbedding>;

  constructor(capacity: number) {
    this.entries = new RecencyMap(capacity);
  }

  get(key: string): CachedEmbedding | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: CachedEmbedding): void {
    this.entries.set(key, value);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A cache key for (model version, features): field order must not matter. */
export function cacheKey(modelVersion: string, raw: RawFeatures): string {
  const names = Object.keys(raw).sort();
  return `${modelVersion}\u0000${JSON.stringify(names.map((n) => [n, raw[n]]))}`;
}
