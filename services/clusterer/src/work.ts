import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Counter } from 'prom-client';
import { UnavailableError, type BusSubscription, type EventBus, type Logger } from '@ralm/platform';
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

/** How to cluster: the coordinator's settings, so a worker's configuration cannot give another k or seed. */
export interface ClusterSettings {
  k: number;
  sampleSize: number;
  assignSampleSize: number;
  /** Split–merge moves; undefined = fitSample's default (2k). */
  swaps?: number;
  batchSize: number;
  seed: number;
}

export const clusterSettings = (config: ClustererConfig): ClusterSettings => ({
  k: config.CLUSTER_K,
  sampleSize: config.CLUSTER_SAMPLE_SIZE,
  assignSampleSize: config.CLUSTER_ASSIGN_SAMPLE_SIZE,
  swaps: config.CLUSTER_SWAPS,
  batchSize: config.EMBEDDING_BATCH,
  seed: config.CLUSTER_SEED,
});

export interface WorkRequest {
  candidateId: string;
  /** The model to cluster with: every embedding of one clustering from it. */
  modelVersion: string;
  /** The seed version of the stored clustering: the same seeds and model need no work. */
  unlessSeedVersion?: number;
  settings: ClusterSettings;
}

export type WorkResult =
  | { outcome: 'clustered'; seedVersion: number; seedCount: number; result: SeedClusters }
  /** No seeds, or none with an embedding in the model. */
  | { outcome: 'no_seeds'; seedVersion: number; seedCount: number }
  | { outcome: 'up_to_date'; seedVersion: number; seedCount: number }
  /** UserEmbedding no longer serves `modelVersion`: the coordinator asks which it serves and tries again. */
  | { outcome: 'model_changed'; seedVersion: number; seedCount: number }
  /** This worker is on another job (one at a time: the work is one core's); the coordinator asks again. */
  | { outcome: 'busy'; seedVersion: number; seedCount: number };

export interface WorkDeps {
  seeds: SeedSource;
  embeddings: EmbeddingSource;
}

/** One candidate's job, where it runs. */
export async function clusterCandidate(request: WorkRequest, deps: WorkDeps, signal: AbortSignal): Promise<WorkResult> {
  const { userIds, seedVersion } = await deps.seeds.seeds(request.candidateId, signal);
  const seen = { seedVersion, seedCount: userIds.length };
  if (request.unlessSeedVersion === seedVersion) return { outcome: 'up_to_date', ...seen };
  if (userIds.length === 0) return { outcome: 'no_seeds', ...seen };
  const options = { ...request.settings, signal };
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
  let busy = false;
  return bus.serve(
    WORK_SUBJECT,
    async (bytes) => {
      // One job at a time: a second one waiting here would wait for a core; elsewhere it may not.
      if (busy) return encode({ outcome: 'busy', seedVersion: 0, seedCount: 0 });
      busy = true;
      const request = JSON.parse(new TextDecoder().decode(bytes)) as WorkRequest;
      try {
        const result = await clusterCandidate(request, deps, signal);
        jobs.inc({ outcome: result.outcome });
        return encode(result);
      } catch (err) {
        jobs.inc({ outcome: 'failed' });
        logger.warn({ err, candidateId: request.candidateId }, 'clustering job failed here; the coordinator retries it');
        throw err;
      } finally {
        busy = false;
      }
    },
    { queue: WORK_QUEUE },
  );
}

/** Members answering `busy` are skipped: asked again after this pause, until the job's timeout. */
const BUSY_RETRY_MS = 50;

/**
 * Hands a job to whichever free worker takes it; UnavailableError when none answers in
 * time, every member stays busy, or `signal` ends the wait (a stopping coordinator does not
 * hold its shutdown for a job: the candidate is due again after the restart).
 */
export async function requestWork(bus: EventBus, request: WorkRequest, timeoutMs: number, signal: AbortSignal): Promise<WorkResult> {
  const payload = new TextEncoder().encode(JSON.stringify(request));
  const stopped = new Promise<never>((_, reject) => {
    const fail = () => reject(new UnavailableError('the coordinator is stopping'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  stopped.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = decode(await Promise.race([bus.request(WORK_SUBJECT, payload, { timeoutMs: Math.max(1, deadline - Date.now()) }), stopped]));
    if (result.outcome !== 'busy') return result;
    await Promise.race([new Promise((r) => setTimeout(r, BUSY_RETRY_MS)), stopped]);
  }
  throw new UnavailableError(`every clustering worker stayed busy for ${timeoutMs / 1000} s`);
}
