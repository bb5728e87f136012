import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Counter } from 'prom-client';
import type { BusSubscription, EventBus, Logger } from '@ralm/platform';
import type { ClustererConfig } from './config';
import { clusterSeeds, type SeedClusters } from './domain/cluster-seeds';
import type { EmbeddingSource, SeedSource } from './ports';

/**
 * The expensive half of a clustering — read the seeds, fetch their embeddings, run
 * k-means — as a job any clusterer process can take: the coordinator (the one that plans,
 * versions, stores and serves) asks on this subject and one member of the queue group
 * answers, itself included. Workers hold no state, so there may be any number of them.
 */
export const WORK_SUBJECT = 'ralm.rpc.clusterer.work';
const WORK_QUEUE = 'clusterer-workers';

export interface WorkRequest {
  candidateId: string;
  /** The model to cluster with: every embedding of one clustering from it. */
  modelVersion: string;
  /** The seed version of the stored clustering: the same seeds and model need no work. */
  unlessSeedVersion?: number;
}

export type WorkResult =
  | { outcome: 'clustered'; seedVersion: number; seedCount: number; result: SeedClusters }
  /** No seeds, or none with an embedding in the model. */
  | { outcome: 'no_seeds'; seedVersion: number; seedCount: number }
  | { outcome: 'up_to_date'; seedVersion: number; seedCount: number }
  /** UserEmbedding no longer serves `modelVersion`: the coordinator asks which it serves and tries again. */
  | { outcome: 'model_changed'; seedVersion: number; seedCount: number };

export interface WorkDeps {
  config: ClustererConfig;
  seeds: SeedSource;
  embeddings: EmbeddingSource;
}

/** One candidate's job, where it runs. */
export async function clusterCandidate(request: WorkRequest, deps: WorkDeps, signal: AbortSignal): Promise<WorkResult> {
  const { config } = deps;
  const { userIds, seedVersion } = await deps.seeds.seeds(request.candidateId, signal);
  const seen = { seedVersion, seedCount: userIds.length };
  if (request.unlessSeedVersion === seedVersion) return { outcome: 'up_to_date', ...seen };
  if (userIds.length === 0) return { outcome: 'no_seeds', ...seen };
  const options = { k: config.CLUSTER_K, sampleSize: config.CLUSTER_SAMPLE_SIZE, assignSampleSize: config.CLUSTER_ASSIGN_SAMPLE_SIZE, batchSize: config.EMBEDDING_BATCH, seed: config.CLUSTER_SEED, signal };
  try {
    const result = await clusterSeeds(userIds, deps.embeddings.fetch, { ...options, modelVersion: request.modelVersion });
    return result ? { outcome: 'clustered', ...seen, result } : { outcome: 'no_seeds', ...seen };
  } catch (err) {
    if ((err as ServiceError).code === grpcStatus.FAILED_PRECONDITION) return { outcome: 'model_changed', ...seen };
    throw err;
  }
}

// Centroids travel as plain arrays: JSON has no Float32Array.
const encode = (r: WorkResult) =>
  new TextEncoder().encode(JSON.stringify(r.outcome === 'clustered' ? { ...r, result: { ...r.result, clusters: r.result.clusters.map((c) => ({ centroid: Array.from(c.centroid), size: c.size })) } } : r));

function decode(bytes: Uint8Array): WorkResult {
  const r = JSON.parse(new TextDecoder().decode(bytes)) as WorkResult & { result?: { clusters: Array<{ centroid: number[]; size: number }> } };
  if (r.outcome !== 'clustered') return r;
  return { ...r, result: { ...r.result, clusters: r.result.clusters.map((c) => ({ centroid: Float32Array.from(c.centroid), size: c.size })) } };
}

/** Takes jobs from the queue group until stopped; `jobs` counts them by outcome. */
export function serveWork(bus: EventBus, deps: WorkDeps, signal: AbortSignal, logger: Logger, jobs: Counter<'outcome'>): Promise<BusSubscription> {
  return bus.serve(
    WORK_SUBJECT,
    async (bytes) => {
      const request = JSON.parse(new TextDecoder().decode(bytes)) as WorkRequest;
      try {
        const result = await clusterCandidate(request, deps, signal);
        jobs.inc({ outcome: result.outcome });
        return encode(result);
      } catch (err) {
        jobs.inc({ outcome: 'failed' });
        logger.warn({ err, candidateId: request.candidateId }, 'clustering job failed here; the coordinator retries it');
        throw err;
      }
    },
    { queue: WORK_QUEUE },
  );
}

/** Hands a job to whichever worker takes it; UnavailableError when none answers in time. */
export async function requestWork(bus: EventBus, request: WorkRequest, timeoutMs: number): Promise<WorkResult> {
  return decode(await bus.request(WORK_SUBJECT, new TextEncoder().encode(JSON.stringify(request)), { timeoutMs }));
}
