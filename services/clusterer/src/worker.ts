import { ReclusterSkipReason } from '@ralm/proto/clusterer';
import { Subjects, type Logger } from '@ralm/platform';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { saveClusters, type ClusterRecord } from './cluster-book';
import { clusterSeeds } from './domain/cluster-seeds';
import type { DueReason } from './domain/seed-tracker';
import type { ClustererDeps } from './ports';

export interface JobOutcome {
  record: ClusterRecord | undefined;
  skipped: ReclusterSkipReason;
}

type Reason = DueReason | 'rpc';

/** After a failed clustering, the candidate waits this long before the planner tries it again. */
const RETRY_AFTER_MS = 5_000;

/**
 * Runs clusterings one at a time (the work is CPU-bound on one core): the most
 * urgent due candidate first, as the tracker orders them, with RPC requests ahead
 * of everything. Kicked by seeds.updated events, model changes and a timer.
 */
export class ClusterWorker {
  private readonly requests: Array<{ candidateId: string; force: boolean; resolve(o: JobOutcome): void; reject(e: unknown): void }> = [];
  private readonly retryAt = new Map<string, number>();
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /**
   * Until when planned work waits because the embedding service has no model to cluster with:
   * unpinned, until model.published (Infinity); pinned, a retry later, since a rollout of the
   * pinned version to user-embedding announces nothing.
   */
  private waitingForModelUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ClustererDeps,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.deps.config.PLANNER_TICK_MS);
    this.timer.unref();
    this.kick();
  }

  /** A model was published: work that waited for one may go ahead. */
  modelChanged(): void {
    this.waitingForModelUntil = 0;
    this.kick();
  }

  /** Looks for due work now (cheap when there is none). */
  kick(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = this.drain().finally(() => (this.running = undefined));
  }

  /** Clusters a candidate now, ahead of planned work, and waits for the outcome. */
  runNow(candidateId: string, force: boolean): Promise<JobOutcome> {
    return new Promise((resolve, reject) => {
      this.requests.push({ candidateId, force, resolve, reject });
      this.kick();
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await this.running;
  }

  private nextPlanned(): { candidateId: string; reason: DueReason } | undefined {
    const now = this.deps.now();
    if (now < this.waitingForModelUntil) return undefined;
    return this.deps.tracker.dueCandidates(now).find((d) => (this.retryAt.get(d.candidateId) ?? 0) <= now);
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.abort.signal.aborted) return;
      const request = this.requests.shift();
      if (request) {
        await this.run(request.candidateId, 'rpc', request.force).then(request.resolve, request.reject);
        continue;
      }
      const planned = this.nextPlanned();
      if (!planned) return;
      await this.run(planned.candidateId, planned.reason, false).catch(() => undefined);
    }
  }

  private async run(candidateId: string, reason: Reason, force: boolean): Promise<JobOutcome> {
    const { deps, logger } = this;
    const tracked = deps.tracker.get(candidateId);
    const current = deps.clusters.get(candidateId);
    const skip = (skipped: ReclusterSkipReason, outcome: string): JobOutcome => {
      deps.metrics.runs.inc({ outcome, reason });
      return { record: current, skipped };
    };
    if (!tracked.active) return skip(ReclusterSkipReason.RECLUSTER_SKIP_REASON_CANDIDATE_NOT_ACTIVE, 'skipped_not_active');
    const stopTimer = deps.metrics.seconds.startTimer();
    try {
      const { userIds, seedVersion } = await deps.seeds.seeds(candidateId, this.abort.signal);
      if (
        !force &&
        current &&
        current.seedVersion === seedVersion &&
        (deps.tracker.modelVersion === undefined || current.modelVersion === deps.tracker.modelVersion)
      ) {
        // Nothing changed since the stored clustering (e.g. an announcement replayed after a restart).
        deps.tracker.seedsUpdated(candidateId, userIds.length, seedVersion);
        return skip(ReclusterSkipReason.RECLUSTER_SKIP_REASON_UP_TO_DATE, 'skipped_up_to_date');
      }
      deps.tracker.seedsUpdated(candidateId, userIds.length, seedVersion);
      if (userIds.length === 0) return skip(ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_SEEDS, 'skipped_no_seeds');
      const result = await this.clusterWithCurrentModel(userIds);
      if (result === 'no_model') {
        const { MODEL_VERSION, PINNED_MODEL_RETRY_MS } = this.deps.config;
        this.waitingForModelUntil = MODEL_VERSION ? this.deps.now() + PINNED_MODEL_RETRY_MS : Infinity;
        return skip(ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_MODEL, 'skipped_no_model');
      }
      if (!result) {
        // No seed has an embedding: stamp it so the planner does not retry until the seeds or the model change.
        deps.tracker.clustered(candidateId, { clusterVersion: current?.clusterVersion ?? 0, seedVersion, seedCount: userIds.length, modelVersion: deps.tracker.modelVersion ?? '', computedAtMs: deps.now() });
        return skip(ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_SEEDS, 'skipped_no_seeds');
      }
      const computedAtMs = deps.now();
      const record: ClusterRecord = {
        candidateId,
        clusterVersion: (current?.clusterVersion ?? 0) + 1,
        modelVersion: result.modelVersion,
        seedVersion,
        seedCount: userIds.length,
        k: result.clusters.length,
        dimension: result.dimension,
        clusters: result.clusters.map((c) => ({ centroid: Array.from(c.centroid), size: c.size })),
        computedAtMs,
        inertia: result.inertia,
      };
      // Stored before it is served or announced: a restart never serves older clusters than were announced.
      await saveClusters(deps.store, record);
      deps.clusters.set(candidateId, record);
      deps.tracker.modelVersion = result.modelVersion;
      deps.tracker.clustered(candidateId, { clusterVersion: record.clusterVersion, seedVersion, seedCount: record.seedCount, modelVersion: record.modelVersion, computedAtMs });
      this.retryAt.delete(candidateId);
      await deps.bus.publish(Subjects.clustersUpdated, {
        candidateId,
        clusterVersion: record.clusterVersion,
        modelVersion: record.modelVersion,
        seedVersion,
        seedCount: record.seedCount,
        k: record.k,
        updatedAtMs: computedAtMs,
      });
      deps.metrics.runs.inc({ outcome: 'clustered', reason });
      logger.debug({ candidateId, reason, clusterVersion: record.clusterVersion, seeds: record.seedCount, k: record.k }, 'clustered');
      return { record, skipped: ReclusterSkipReason.RECLUSTER_SKIP_REASON_UNSPECIFIED };
    } catch (err) {
      deps.metrics.runs.inc({ outcome: 'failed', reason });
      this.retryAt.set(candidateId, deps.now() + RETRY_AFTER_MS);
      if (!this.abort.signal.aborted) logger.warn({ err, candidateId, reason }, 'clustering failed; retried later');
      throw err;
    } finally {
      stopTimer();
    }
  }

  /** Clusters with the model the tracker knows; once more unpinned if the model changed mid-way. */
  private async clusterWithCurrentModel(userIds: string[]) {
    const { config } = this.deps;
    const options = { k: config.CLUSTER_K, sampleSize: config.CLUSTER_SAMPLE_SIZE, batchSize: config.EMBEDDING_BATCH, seed: config.CLUSTER_SEED, signal: this.abort.signal };
    for (let attempt = 0; ; attempt++) {
      const pin = this.deps.tracker.modelVersion;
      try {
        return await clusterSeeds(userIds, this.deps.embeddings.fetch, { ...options, ...(pin === undefined ? {} : { modelVersion: pin }) });
      } catch (err) {
        if ((err as ServiceError).code !== grpcStatus.FAILED_PRECONDITION) throw err;
        // Pinned: user-embedding does not serve that version yet (a rollout); wait for it rather than cluster with another.
        if (pin === undefined || attempt > 0 || config.MODEL_VERSION) return 'no_model' as const;
        this.deps.tracker.modelVersion = undefined; // the pinned model was replaced: learn the new one
      }
    }
  }
}
