import { Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { SeedCollectorServiceClient, type ListSeedsResponse } from '@ralm/proto/seed_collector';
import { EmbeddingKind, UserEmbeddingServiceClient } from '@ralm/proto/user_embedding';
import { callUnary } from '@ralm/platform';
import type { EmbeddingBatch } from '../domain/cluster-seeds';
import type { EmbeddingSource, SeedSource } from '../ports';

/** Per-call deadline: a stalled peer fails the job (retried later) instead of blocking the worker. */
const CALL_TIMEOUT_MS = 30_000;

/** Seeds from SeedCollectorService.ListSeeds (a server stream of 10,000-id chunks). */
export function grpcSeedSource(address: string, creds: ChannelCredentials): SeedSource & { close(): void } {
  const client = new SeedCollectorServiceClient(address, creds);
  return {
    seeds(candidateId, signal) {
      return new Promise((resolve, reject) => {
        const userIds: string[] = [];
        let seedVersion = 0;
        const call = client.listSeeds({ candidateId, limit: 0 }, new Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS });
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
        call.on('data', (chunk: ListSeedsResponse) => {
          seedVersion = chunk.seedVersion;
          for (const id of chunk.userIds) userIds.push(id);
        });
        call.on('error', (err: ServiceError) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        });
        call.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          resolve({ userIds, seedVersion });
        });
      });
    },
    close: () => client.close(),
  };
}

/** Embeddings from UserEmbeddingService.GetEmbeddings: look-alike always, universal when asked, one pinned version. */
export function grpcEmbeddingSource(address: string, creds: ChannelCredentials): EmbeddingSource & { close(): void } {
  const client = new UserEmbeddingServiceClient(address, creds);
  const get = (userIds: string[], kind: EmbeddingKind, modelVersion: string) =>
    callUnary(client.getEmbeddings.bind(client), { userIds, kind, modelVersion }, { timeoutMs: CALL_TIMEOUT_MS });
  return {
    async model() {
      try {
        return (await callUnary(client.getModel.bind(client), {}, { timeoutMs: CALL_TIMEOUT_MS })).modelVersion;
      } catch (err) {
        if ((err as ServiceError).code === status.FAILED_PRECONDITION) return undefined;
        throw err;
      }
    },
    async fetch(userIds, { universal, pin }): Promise<EmbeddingBatch> {
      const la = await get(userIds, EmbeddingKind.EMBEDDING_KIND_LOOKALIKE, pin ?? '');
      // Pinned to the version the first reply came from, so both kinds describe the same model.
      const u = universal ? await get(userIds, EmbeddingKind.EMBEDDING_KIND_UNIVERSAL, la.modelVersion) : undefined;
      const h = la.dimension;
      const d = u?.dimension ?? 0;
      const position = new Map<string, number[]>();
      userIds.forEach((id, i) => {
        const list = position.get(id);
        if (list) list.push(i);
        else position.set(id, [i]);
      });
      const found: number[] = [];
      const lookalike = new Float32Array(la.embeddings.length * h);
      const universalRows = new Float32Array(u ? u.embeddings.length * d : 0);
      // Replies keep request order, one entry per found occurrence: consume positions in order.
      const taken = new Map<string, number>();
      la.embeddings.forEach((e, r) => {
        const seen = taken.get(e.userId) ?? 0;
        taken.set(e.userId, seen + 1);
        found.push(position.get(e.userId)![seen]!);
        lookalike.set(e.values, r * h);
        if (u) universalRows.set(u.embeddings[r]!.values, r * d);
      });
      return { modelVersion: la.modelVersion, found, lookalike, universal: universalRows, h, d };
    },
    close: () => client.close(),
  };
}
