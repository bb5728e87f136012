import type { Counter, Gauge, Histogram } from 'prom-client';
import type { EventBus, StateStore } from '@ralm/platform';
import type { ClustererConfig } from './config';
import type { FetchEmbeddings } from './domain/cluster-seeds';
import type { SeedTracker } from './domain/seed-tracker';
import type { ClusterRecord } from './cluster-book';

/** A candidate's seed set, newest first. */
export interface SeedSource {
  seeds(candidateId: string, signal?: AbortSignal): Promise<{ userIds: string[]; seedVersion: number }>;
}

/** Embeddings of users from the current model (UserEmbeddingService). */
export interface EmbeddingSource {
  fetch: FetchEmbeddings;
  /** The model version UserEmbedding serves now (GetModel); undefined when it has none. */
  model(): Promise<string | undefined>;
}

export interface ClustererMetrics {
  /** Clusterings by outcome (clustered, skipped_no_model, skipped_no_seeds, failed) and reason (first, model, growth, schedule, rpc). */
  runs: Counter<'outcome' | 'reason'>;
  /** Seconds per clustering, fetches included. */
  seconds: Histogram<string>;
  /** Records the model UserEmbedding said it serves (undefined: none). */
  servedModel(version: string | undefined): void;
  /** Progress of the bulk re-clustering for a new model: candidates in it, and done so far. */
  rollout: Gauge<'state'>;
}

export interface ClustererDeps {
  readonly config: ClustererConfig;
  readonly tracker: SeedTracker;
  readonly clusters: Map<string, ClusterRecord>;
  readonly seeds: SeedSource;
  readonly embeddings: EmbeddingSource;
  readonly store: StateStore;
  readonly bus: EventBus;
  readonly metrics: ClustererMetrics;
  readonly now: () => number;
}
