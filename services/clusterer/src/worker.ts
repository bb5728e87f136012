import { ReclusterSkipReason } from '@ralm/proto/clusterer';
import { Subjects, type Logger } from '@ralm/platform';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { saveClusters, type ClusterRecord } from './cluster-book';
import { clusterSeeds, type FetchEmbeddings, type SeedClusters } from './domain/cluster-seeds';
import { EmbeddingCache } from './domain/embedding-cache';
import type { DueReason } from './domain/seed-tracker';
import { ModelWatch } from './model-watch';
import { clusterSettings, requestWork, type WorkResult } from './work';
import type { ClustererDeps } from './ports';

export interface JobOutcome {
  record: ClusterRecord | undefined;
  skipped: ReclusterSkipReason;
}

type Reason = DueReason | 'rpc';

/** A candidate whose seeds were read and that needs clustering. */
interface Prepared {
  candidateId: string;
  reason: Reason;
  userIds: string[];
  seedVersion: number;
  stopTimer: () => void;
}

/** After a failed clustering, the candidate waits this long before the planner tries it again. */
const RETRY_AFTER_MS = 5_000;
/** Seed lists read at once while a bulk job gathers a group. */
const SEED_READS_IN_FLIGHT = 8;
/** Seconds between progress lines of a bulk job. */
const PROGRESS_LOG_MS = 5_000;

/**
 * Runs clusterings one at a time (the work is CPU-bound on one core): the most
 * urgent due candidate first, as the tracker orders them, with RPC requests ahead
 * of everything. A new model makes every candidate due at once: that is one bulk
 * job, in groups whose distinct users' embeddings are fetched once for the group,
 * not once per candidate. Kicked by seeds.updated events, model changes and a timer.
 */
export class ClusterWorker {
  private readonly requests: Array<{ candidateId: string; force: boolean; resolve(o: JobOutcome): void; reject(e: unknown): void }> = [];
  private readonly retryAt = new Map<string, number>();
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** UserEmbedding does not serve the model to cluster with (yet): planned work waits until then, or until the model changes. */
  private notBefore = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly watch: ModelWatch;
  private backlogCleared = false;

  constructor(
    private readonly deps: ClustererDeps,
    private readonly logger: Logger,
    /** Whether the start-up replay of the bus has been applied: only then can "nothing due" mean "caught up". */
    private readonly replayed: () => boolean = () => true,
  ) {
    this.watch = new ModelWatch(deps, logger, () => this.modelChanged());
  }

  start(): void {
    this.watch.start();
    this.timer = setInterval(() => this.kick(), this.deps.config.PLANNER_TICK_MS);
    this.timer.unref();
    this.kick();
  }

  /** True once the work due at start is done (latched), or nothing can be clustered for want of a model. */
  get caughtUp(): boolean {
    return this.backlogCleared;
  }

  /** The model to cluster with changed: work that waited for one may go ahead. */
  modelChanged(): void {
    this.notBefore = 0;
    this.kick();
  }

  /** `model.published`: asks UserEmbedding until it serves that version. */
  published(version: string): void {
    this.watch.published(version);
  }

  /** Asks UserEmbedding which model it serves now, so a decision (UP_TO_DATE or not) uses today's answer. */
  refreshModel(): Promise<string | undefined> {
    return this.watch.refresh();
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
    this.watch.stop();
    clearInterval(this.timer);
    this.abort.abort();
    await this.running;
  }

  private due(): Array<{ candidateId: string; reason: DueReason }> {
    const now = this.deps.now();
    if (now < this.notBefore || this.deps.tracker.modelVersion === undefined) return [];
    return this.deps.tracker.dueCandidates(now).filter((d) => (this.retryAt.get(d.candidateId) ?? 0) <= now);
  }

  private async serveRequests(): Promise<void> {
    for (let request = this.requests.shift(); request; request = this.requests.shift()) {
      await this.run(request.candidateId, 'rpc', request.force).then(request.resolve, request.reject);
    }
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.abort.signal.aborted) return;
      await this.serveRequests();
      const due = this.due();
      if (due.length === 0) {
        // Nothing due, or nothing that can be done until a model is served: either way caught up.
        if (this.replayed()) this.backlogCleared = true;
        return;
      }
      if (this.deps.config.CLUSTER_JOBS_IN_FLIGHT > 1) {
        await this.dispatch(due);
        continue;
      }
      // Several due for the same reason (a new model; a replay or a burst of new candidates): one bulk job.
      const reason = due[0]!.reason;
      const same = due.filter((d) => d.reason === reason).map((d) => d.candidateId);
      if (same.length > 1) await this.bulk(same, reason);
      else await this.run(due[0]!.candidateId, reason, false).catch(() => undefined);
    }
  }

  private async run(candidateId: string, reason: Reason, force: boolean): Promise<JobOutcome> {
    const prepared = await this.prepare(candidateId, reason, force);
    if (!('userIds' in prepared)) return prepared;
    return this.cluster(prepared, this.deps.embeddings.fetch);
  }

  /**
   * Keeps CLUSTER_JOBS_IN_FLIGHT jobs out at once, a new one sent as each comes back (a slow
   * job holds its own slot, not the others'), RPC requests served between; returns when
   * nothing more is due and every job is back.
   */
  private async dispatch(first: Array<{ candidateId: string; reason: DueReason }>): Promise<void> {
    const inFlight = new Map<string, Promise<void>>();
    let due = first;
    for (;;) {
      for (const d of due) {
        if (inFlight.size >= this.deps.config.CLUSTER_JOBS_IN_FLIGHT || this.abort.signal.aborted) break;
        if (inFlight.has(d.candidateId)) continue;
        const job = this.runRemote(d.candidateId, d.reason).then(
          () => undefined,
          () => undefined,
        );
        inFlight.set(d.candidateId, job.finally(() => inFlight.delete(d.candidateId)));
      }
      if (inFlight.size === 0) return;
      await Promise.race(inFlight.values());
      if (this.requests.length > 0) await this.serveRequests();
      due = this.due().filter((d) => !inFlight.has(d.candidateId));
    }
  }

  /**
   * One candidate as a job for whichever worker takes it (work.ts): it reads the seeds and
   * clusters them; this process versions, stores and announces the result, so there is one
   * writer of every clustering however many workers there are.
   */
  private async runRemote(candidateId: string, reason: Reason): Promise<JobOutcome> {
    const { deps } = this;
    if (!deps.tracker.get(candidateId).active) return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_CANDIDATE_NOT_ACTIVE, 'skipped_not_active');
    const stopTimer = deps.metrics.seconds.startTimer();
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const pin = deps.tracker.modelVersion ?? (await this.watch.refresh());
        if (pin === undefined) break;
        const current = deps.clusters.get(candidateId);
        const unlessSeedVersion = current && current.modelVersion === pin ? current.seedVersion : undefined;
        let work: WorkResult;
        try {
          work = await requestWork(deps.bus, { candidateId, modelVersion: pin, unlessSeedVersion, settings: clusterSettings(deps.config) }, deps.config.CLUSTER_JOB_TIMEOUT_SECONDS * 1000, this.abort.signal);
        } catch (err) {
          return this.failed(candidateId, reason, err);
        }
        deps.tracker.seedsUpdated(candidateId, work.seedCount, work.seedVersion);
        switch (work.outcome) {
          case 'clustered':
            try {
              return { record: await this.commit({ candidateId, reason, seedVersion: work.seedVersion, seedCount: work.seedCount }, work.result), skipped: ReclusterSkipReason.RECLUSTER_SKIP_REASON_UNSPECIFIED };
            } catch (err) {
              // Not stored: retried after a pause, not at once by every worker.
              return this.failed(candidateId, reason, err);
            }
          case 'up_to_date':
            return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_UP_TO_DATE, 'skipped_up_to_date');
          case 'no_seeds':
            deps.tracker.clustered(candidateId, { clusterVersion: current?.clusterVersion ?? 0, seedVersion: work.seedVersion, seedCount: work.seedCount, modelVersion: pin, computedAtMs: deps.now() });
            return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_SEEDS, 'skipped_no_seeds');
          case 'model_changed': {
            const served = await this.watch.refresh();
            if (deps.config.MODEL_VERSION || served === undefined || served === pin) attempt = 2;
          }
        }
      }
      this.notBefore = deps.now() + deps.config.PINNED_MODEL_RETRY_MS;
      return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_MODEL, 'skipped_no_model');
    } finally {
      stopTimer();
    }
  }

  private skip(candidateId: string, reason: Reason, skipped: ReclusterSkipReason, outcome: string): JobOutcome {
    this.deps.metrics.runs.inc({ outcome, reason });
    return { record: this.deps.clusters.get(candidateId), skipped };
  }

  private failed(candidateId: string, reason: Reason, err: unknown): never {
    this.deps.metrics.runs.inc({ outcome: 'failed', reason });
    this.retryAt.set(candidateId, this.deps.now() + RETRY_AFTER_MS);
    if (!this.abort.signal.aborted) this.logger.warn({ err, candidateId, reason }, 'clustering failed; retried later');
    throw err;
  }

  /** Reads the candidate's seeds and decides whether it needs clustering at all. */
  private async prepare(candidateId: string, reason: Reason, force: boolean): Promise<Prepared | JobOutcome> {
    const { deps } = this;
    const tracked = deps.tracker.get(candidateId);
    const current = deps.clusters.get(candidateId);
    if (!tracked.active) return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_CANDIDATE_NOT_ACTIVE, 'skipped_not_active');
    const stopTimer = deps.metrics.seconds.startTimer();
    let seeds;
    try {
      seeds = await deps.seeds.seeds(candidateId, this.abort.signal);
    } catch (err) {
      stopTimer();
      return this.failed(candidateId, reason, err);
    }
    const { userIds, seedVersion } = seeds;
    deps.tracker.seedsUpdated(candidateId, userIds.length, seedVersion);
    const model = deps.tracker.modelVersion;
    if (!force && current && current.seedVersion === seedVersion && (model === undefined || current.modelVersion === model)) {
      // Nothing changed since the stored clustering (e.g. an announcement replayed after a restart).
      stopTimer();
      return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_UP_TO_DATE, 'skipped_up_to_date');
    }
    if (userIds.length === 0) {
      stopTimer();
      return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_SEEDS, 'skipped_no_seeds');
    }
    return { candidateId, reason, userIds, seedVersion, stopTimer };
  }

  /** Clusters prepared seeds with embeddings from `fetch`, then stores and announces the result. */
  private async cluster(p: Prepared, fetch: FetchEmbeddings): Promise<JobOutcome> {
    const { deps } = this;
    const { candidateId, reason, seedVersion } = p;
    try {
      const result = await this.clusterWithServedModel(p.userIds, fetch);
      if (result === 'no_model') {
        this.notBefore = deps.now() + deps.config.PINNED_MODEL_RETRY_MS;
        return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_MODEL, 'skipped_no_model');
      }
      if (!result) {
        // No seed has an embedding: stamp it so the planner does not retry until the seeds or the model change.
        const current = deps.clusters.get(candidateId);
        deps.tracker.clustered(candidateId, { clusterVersion: current?.clusterVersion ?? 0, seedVersion, seedCount: p.userIds.length, modelVersion: deps.tracker.modelVersion ?? '', computedAtMs: deps.now() });
        return this.skip(candidateId, reason, ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_SEEDS, 'skipped_no_seeds');
      }
      const record = await this.commit({ candidateId, reason, seedVersion, seedCount: p.userIds.length }, result);
      return { record, skipped: ReclusterSkipReason.RECLUSTER_SKIP_REASON_UNSPECIFIED };
    } catch (err) {
      return this.failed(candidateId, reason, err);
    } finally {
      p.stopTimer();
    }
  }

  /** What a clustering is stored and announced with, wherever its work ran. */
  private async commit(p: { candidateId: string; reason: Reason; seedVersion: number; seedCount: number }, result: SeedClusters): Promise<ClusterRecord> {
    const { deps } = this;
    const { candidateId, seedVersion } = p;
    const { seedCount } = p;
    const current = deps.clusters.get(candidateId);
    const computedAtMs = deps.now();
    const record: ClusterRecord = {
      candidateId,
      clusterVersion: (current?.clusterVersion ?? 0) + 1,
      modelVersion: result.modelVersion,
      seedVersion,
      seedCount,
      k: result.clusters.length,
      dimension: result.dimension,
      clusters: result.clusters.map((c) => ({ centroid: Array.from(c.centroid), size: c.size })),
      computedAtMs,
      inertia: result.inertia,
    };
    // Stored before it is served or announced: a restart never serves older clusters than were announced.
    await saveClusters(deps.store, record);
    deps.clusters.set(candidateId, record);
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
    deps.metrics.runs.inc({ outcome: 'clustered', reason: p.reason });
    this.logger.debug({ candidateId, reason: p.reason, clusterVersion: record.clusterVersion, seeds: record.seedCount, k: record.k }, 'clustered');
    return record;
  }

  /**
   * Clusters with the model UserEmbedding serves, pinned so one clustering never mixes
   * versions. A pinned fetch refused (the model changed under it) asks which model is
   * served and, unpinned, goes once more with that one; never with an unpinned fetch
   * that would take whatever comes.
   */
  private async clusterWithServedModel(userIds: string[], fetch: FetchEmbeddings): Promise<SeedClusters | undefined | 'no_model'> {
    const { config } = this.deps;
    const options = { ...clusterSettings(config), signal: this.abort.signal };
    for (let attempt = 0; attempt < 2; attempt++) {
      const pin = this.deps.tracker.modelVersion ?? (await this.watch.refresh());
      if (pin === undefined) return 'no_model';
      try {
        return await clusterSeeds(userIds, fetch, { ...options, modelVersion: pin });
      } catch (err) {
        if ((err as ServiceError).code !== grpcStatus.FAILED_PRECONDITION) throw err;
        const served = await this.watch.refresh();
        if (config.MODEL_VERSION || served === undefined || served === pin) return 'no_model';
      }
    }
    return 'no_model';
  }

  /**
   * Clusters `ids` (all due for `reason`, e.g. a new model) in groups of about
   * BULK_GROUP_SEEDS seed memberships: each group's seed lists are read a few at a
   * time, its distinct users' embeddings fetched once, and every candidate clustered
   * from that cache. Candidates too large for a group go the per-candidate way
   * (sampled fit, streamed pass). RPC requests are served between groups; a newer
   * model ends the job (its candidates are due again, for that model).
   */
  private async bulk(ids: string[], reason: DueReason): Promise<void> {
    const { deps, logger } = this;
    const { config } = deps;
    const version = deps.tracker.modelVersion!;
    const started = performance.now();
    const rollout = reason === 'model';
    let done = 0;
    let lastLog = started;
    const progress = (force = false) => {
      if (rollout) deps.metrics.rollout.set({ state: 'done' }, done);
      if (!force && performance.now() - lastLog < PROGRESS_LOG_MS) return;
      lastLog = performance.now();
      logger.info({ modelVersion: version, reason, done, total: ids.length, seconds: Math.round((lastLog - started) / 100) / 10 }, rollout ? 're-clustering for the new model' : 'clustering in bulk');
    };
    if (rollout) deps.metrics.rollout.set({ state: 'total' }, ids.length);
    progress(true);
    let i = 0;
    while (i < ids.length) {
      if (this.abort.signal.aborted) return;
      if (deps.tracker.modelVersion !== version) {
        logger.info({ modelVersion: version, done, total: ids.length, next: deps.tracker.modelVersion }, 're-clustering superseded by a newer model');
        return;
      }
      await this.serveRequests();
      const group: Prepared[] = [];
      const large: Prepared[] = [];
      let members = 0;
      while (i < ids.length && members < config.BULK_GROUP_SEEDS) {
        const slice = ids.slice(i, i + SEED_READS_IN_FLIGHT);
        i += slice.length;
        const prepared = await Promise.all(slice.map((id) => this.prepare(id, reason, false).catch(() => undefined)));
        for (const p of prepared) {
          if (!p || !('userIds' in p)) done++;
          else if (p.userIds.length > config.CLUSTER_SAMPLE_SIZE) large.push(p);
          else {
            group.push(p);
            members += p.userIds.length;
          }
        }
      }
      let cache: EmbeddingCache;
      try {
        cache = await EmbeddingCache.fetch(group.flatMap((p) => p.userIds), version, deps.embeddings.fetch, config.EMBEDDING_BATCH, this.abort.signal);
      } catch (err) {
        for (const p of group) p.stopTimer();
        if ((err as ServiceError).code === grpcStatus.FAILED_PRECONDITION) {
          // The model changed under the job: ask, and the planner starts over for the new one.
          await this.watch.refresh();
          if (deps.tracker.modelVersion === version) this.notBefore = deps.now() + config.PINNED_MODEL_RETRY_MS;
          return;
        }
        logger.warn({ err, modelVersion: version }, 're-clustering group failed; retried later');
        for (const p of group) this.retryAt.set(p.candidateId, deps.now() + RETRY_AFTER_MS);
        continue;
      }
      for (const p of group) {
        await this.cluster(p, cache.fetcher).catch(() => undefined);
        done++;
        progress();
      }
      for (const p of large) {
        await this.cluster(p, deps.embeddings.fetch).catch(() => undefined);
        done++;
        progress();
      }
    }
    progress(true);
    logger.info({ modelVersion: version, reason, candidates: ids.length, seconds: Math.round((performance.now() - started) / 100) / 10 }, rollout ? 're-clustered every candidate for the new model' : 'bulk clustering done');
  }
}
