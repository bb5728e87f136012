import { concat, type EmbeddingBatch, type FetchEmbeddings } from './cluster-seeds';

/**
 * Both embeddings of a set of users, fetched once (pinned to one model version) and
 * then served to any number of clusterings as a FetchEmbeddings: a bulk re-clustering
 * asks UserEmbedding for each distinct user of a group once, not once per candidate.
 */
export class EmbeddingCache {
  private constructor(
    readonly modelVersion: string,
    private readonly rowOf: Map<string, number>,
    private readonly lookalike: Float32Array,
    private readonly universal: Float32Array,
    readonly h: number,
    readonly d: number,
  ) {}

  get size(): number {
    return this.rowOf.size;
  }

  /** Fetches the distinct ids of `userIds` in batches of `batchSize`, pinned to `modelVersion`. */
  static async fetch(userIds: string[], modelVersion: string, fetch: FetchEmbeddings, batchSize: number, signal?: AbortSignal): Promise<EmbeddingCache> {
    const distinct = [...new Set(userIds)];
    const rowOf = new Map<string, number>();
    const la: Float32Array[] = [];
    const un: Float32Array[] = [];
    let h = 0;
    let d = 0;
    for (let i = 0; i < distinct.length; i += batchSize) {
      signal?.throwIfAborted();
      const ids = distinct.slice(i, i + batchSize);
      const batch = await fetch(ids, { universal: true, pin: modelVersion });
      h = batch.h;
      d = batch.d;
      for (const index of batch.found) rowOf.set(ids[index]!, rowOf.size);
      la.push(batch.lookalike);
      un.push(batch.universal);
    }
    return new EmbeddingCache(modelVersion, rowOf, concat(la), concat(un), h, d);
  }

  /** Serves fetches from the cache; a fetch pinned to another version is refused like UserEmbedding would. */
  readonly fetcher: FetchEmbeddings = async (userIds, { universal, pin }) => {
    if (pin !== undefined && pin !== this.modelVersion) throw new RangeError(`embedding cache holds model '${this.modelVersion}', not '${pin}'`);
    const { h, d } = this;
    const found: number[] = [];
    userIds.forEach((id, i) => this.rowOf.has(id) && found.push(i));
    const lookalike = new Float32Array(found.length * h);
    const uni = new Float32Array(universal ? found.length * d : 0);
    found.forEach((i, r) => {
      const row = this.rowOf.get(userIds[i]!)!;
      lookalike.set(this.lookalike.subarray(row * h, row * h + h), r * h);
      if (universal) uni.set(this.universal.subarray(row * d, row * d + d), r * d);
    });
    const batch: EmbeddingBatch = { modelVersion: this.modelVersion, found, lookalike, universal: uni, h, d: universal ? d : 0 };
    return batch;
  };
}

