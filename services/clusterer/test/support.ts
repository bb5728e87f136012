import { createLogger, createMemoryBus, createServiceMetrics, FailedPreconditionError, type EventBus } from '@ralm/platform';
import { createMemoryStateStore } from '@ralm/platform/testing/memory-store';
import { status } from '@grpc/grpc-js';
import { Rng } from '@ralm/model';
import { loadClustererConfig } from '../src/config';
import type { EmbeddingBatch } from '../src/domain/cluster-seeds';
import { createClusterer, type ClustererModule } from '../src/module';
import type { EmbeddingSource, SeedSource } from '../src/ports';

/** A tiny in-memory "model": users with look-alike (h) and universal (d) embeddings. */
export interface FakeModel {
  version: string;
  h: number;
  d: number;
  lookalike: Map<string, Float32Array>;
  universal: Map<string, Float32Array>;
}

/**
 * Users in `blobs` well-separated groups: look-alike embeddings around a
 * per-blob centre, universal embeddings random (their member means are the oracle).
 */
export function blobModel(version: string, users: string[], blobs: number, h = 8, d = 6, seed = 1): { model: FakeModel; blobOf: Map<string, number> } {
  const rng = new Rng(seed);
  const model: FakeModel = { version, h, d, lookalike: new Map(), universal: new Map() };
  const blobOf = new Map<string, number>();
  users.forEach((u, i) => {
    const blob = i % blobs;
    blobOf.set(u, blob);
    model.lookalike.set(u, Float32Array.from({ length: h }, (_, t) => (t === blob % h ? 50 * (1 + Math.floor(blob / h)) : 0) + rng.normal() * 0.1));
    model.universal.set(u, Float32Array.from({ length: d }, () => rng.normal()));
  });
  return { model, blobOf };
}

/** The embedding source over a swappable fake model; a missing model answers FAILED_PRECONDITION like the service. */
export function fakeEmbeddings(current: () => FakeModel | undefined): EmbeddingSource & { calls: number } {
  const source = {
    calls: 0,
    async model() {
      return current()?.version;
    },
    async fetch(userIds: string[], { universal, pin }: { universal: boolean; pin: string | undefined }): Promise<EmbeddingBatch> {
      source.calls++;
      const model = current();
      if (!model || (pin !== undefined && pin !== model.version)) {
        throw Object.assign(new FailedPreconditionError('no such model'), { code: status.FAILED_PRECONDITION });
      }
      const found: number[] = [];
      userIds.forEach((u, i) => model.lookalike.has(u) && found.push(i));
      const lookalike = new Float32Array(found.length * model.h);
      const uni = new Float32Array(universal ? found.length * model.d : 0);
      found.forEach((i, r) => {
        lookalike.set(model.lookalike.get(userIds[i]!)!, r * model.h);
        if (universal) uni.set(model.universal.get(userIds[i]!)!, r * model.d);
      });
      return { modelVersion: model.version, found, lookalike, universal: uni, h: model.h, d: universal ? model.d : 0 };
    },
  };
  return source;
}

export function fakeSeeds(sets: Map<string, { userIds: string[]; seedVersion: number }>): SeedSource {
  return {
    async seeds(candidateId) {
      const set = sets.get(candidateId);
      return set ? { userIds: [...set.userIds], seedVersion: set.seedVersion } : { userIds: [], seedVersion: 0 };
    },
  };
}

export interface Harness {
  bus: EventBus;
  store: Map<string, Uint8Array>;
  module: ClustererModule;
  metrics: ReturnType<typeof createServiceMetrics>;
}

export async function startClusterer(
  env: NodeJS.ProcessEnv,
  sources: { seeds: SeedSource; embeddings: EmbeddingSource },
  shared: { bus?: EventBus; store?: Map<string, Uint8Array>; now?: () => number } = {},
): Promise<Harness> {
  const bus = shared.bus ?? createMemoryBus();
  const store = shared.store ?? new Map<string, Uint8Array>();
  const metrics = createServiceMetrics('clusterer');
  const module = await createClusterer(
    loadClustererConfig({ PLANNER_TICK_MS: '20', ...env }),
    {
      bus,
      logger: createLogger('clusterer', 'silent'),
      metrics,
      now: shared.now ?? Date.now,
      openStore: async () => createMemoryStateStore(store),
    },
    sources,
  );
  await module.start!();
  return { bus, store, module, metrics };
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
