import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ralm/platform';
import type { GetClustersResponse } from '@ralm/proto/clusterer';
import type { ModelStates } from './model-states';
import { candidateRowsMany } from './precompute';
import type { ClusterSource, LookalikeScorerDeps } from './ports';
import type { ScoringState } from './scoring-state';

/** After a failed fetch the candidate is tried again this much later. */
const RETRY_MS = 2_000;
/** How often a table being completed asks the clusterer how far it is. */
const PROGRESS_POLL_MS = 250;
/** Seconds between progress lines while a table is being completed. */
const PROGRESS_LOG_MS = 5_000;
/** Candidates precomputed in one pass of the model while a whole table is listed. */
const PRECOMPUTE_BATCH = 256;

/**
 * Fills the scoring tables from the clusterer. A table that is not complete yet
 * (a restart, or a new model rolling out) is completed as a whole: it waits until
 * the clusterer has clustered every servable candidate with its model, then lists
 * them all in one stream (ListClusters), precomputing in batches. A complete table
 * follows announcements candidate by candidate: one fetch per candidate at a time,
 * and a change announced meanwhile runs once more afterwards, so the newest
 * clustering always wins. Which candidates may enter a table is decided in one
 * place, `admit`.
 */
export class ClusterLoader {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly abort = new AbortController();

  constructor(
    private readonly deps: LookalikeScorerDeps,
    private readonly states: ModelStates,
    private readonly source: ClusterSource,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes the clusterings that may be served into `state`'s table (batched
   * precomputation) and takes out the ones that may not: another model or
   * dimension, a retired candidate, fewer seeds than SERVABLE_MIN_SEEDS whatever
   * the clusterer produced, or an older clustering than the one in the table.
   */
  admit(state: ScoringState, list: GetClustersResponse[]): void {
    const { book, metrics } = this.deps;
    const fresh: GetClustersResponse[] = [];
    for (const clusters of list) {
      const id = clusters.candidateId;
      if (clusters.modelVersion !== state.version || clusters.dimension !== state.serving.userDim) {
        metrics.loads.inc({ outcome: 'stale' });
        continue;
      }
      const slot = state.table.slot(id);
      if (book.get(id)?.active === false || clusters.seedCount < book.minSeeds) {
        if (slot !== undefined) state.table.remove(id);
        metrics.loads.inc({ outcome: book.get(id)?.active === false ? 'not_active' : 'too_few_seeds' });
        continue;
      }
      if (slot !== undefined && state.table.clusterVersionAt(slot) >= clusters.clusterVersion) continue;
      fresh.push(clusters);
    }
    for (let i = 0; i < fresh.length; i += PRECOMPUTE_BATCH) {
      const batch = fresh.slice(i, i + PRECOMPUTE_BATCH);
      candidateRowsMany(state.serving, batch, state.table.k).forEach((rows, j) => {
        const clusters = batch[j]!;
        state.table.put(clusters.candidateId, rows);
        book.clustersAnnounced(clusters.candidateId, clusters.clusterVersion, clusters.modelVersion, clusters.seedCount);
      });
    }
    if (fresh.length > 0) metrics.loads.inc({ outcome: 'loaded' }, fresh.length);
  }

  /** A clustering of `candidateId` was announced for `state`'s model. */
  refresh(state: ScoringState, candidateId: string): Promise<void> {
    if (!state.complete) {
      state.deferred.add(candidateId);
      return Promise.resolve();
    }
    const key = `${state.version}\u0000${candidateId}`;
    const inFlight = this.running.get(key);
    if (inFlight) {
      this.again.add(key);
      return inFlight;
    }
    const run = this.load(state, candidateId).finally(() => {
      this.running.delete(key);
      if (this.again.delete(key) && !this.abort.signal.aborted) void this.refresh(state, candidateId);
    });
    this.running.set(key, run);
    return run;
  }

  /**
   * Completes `state`'s table: waits (asking for counts only) until the clusterer
   * has clustered every servable candidate with its model, or `timeoutMs` passed,
   * then lists them all and marks the table complete. Retries while the clusterer
   * is unreachable; ends early if the state is superseded.
   */
  async complete(state: ScoringState, timeoutMs: number): Promise<void> {
    const started = performance.now();
    let lastLog = started;
    for (let attempt = 1; !this.abort.signal.aborted && this.states.holds(state) && !state.complete; attempt++) {
      try {
        const counts = await this.source.counts(state.version);
        const late = timeoutMs > 0 && performance.now() - started >= timeoutMs;
        if (counts.clusteredWithModel < counts.servable && !late) {
          this.deps.metrics.completion.set({ model_version: state.version, state: 'servable' }, counts.servable);
          this.deps.metrics.completion.set({ model_version: state.version, state: 'clustered' }, counts.clusteredWithModel);
          if (performance.now() - lastLog >= PROGRESS_LOG_MS) {
            lastLog = performance.now();
            this.logger.info({ modelVersion: state.version, clustered: counts.clusteredWithModel, servable: counts.servable }, 'waiting for the clusterer to cluster every candidate with the model');
          }
          await sleep(PROGRESS_POLL_MS, undefined, { signal: this.abort.signal });
          continue;
        }
        let listed = 0;
        for await (const page of this.source.list(state.version, this.abort.signal)) {
          if (!this.states.holds(state)) return;
          this.admit(state, page.candidates);
          listed += page.candidates.length;
        }
        if (!this.states.holds(state)) return;
        this.deps.metrics.completion.reset();
        this.logger.info({ modelVersion: state.version, candidates: state.table.count, listed, seconds: Math.round((performance.now() - started) / 100) / 10, timedOut: late }, 'scoring table complete');
        this.states.completed(state, late ? 'timeout' : 'complete');
        await this.flushDeferred(state);
        return;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.logger.warn({ err, modelVersion: state.version, attempt }, 'scoring table not completed (clusterer unreachable?); retrying');
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)), undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running.values());
  }

  /** Announcements made while the table was listed: fetched where the table holds an older clustering. */
  private async flushDeferred(state: ScoringState): Promise<void> {
    const ids = [...state.deferred];
    state.deferred.clear();
    for (const id of ids) {
      const announced = this.deps.book.get(id)?.announced;
      const slot = state.table.slot(id);
      if (!announced || announced.modelVersion !== state.version) continue;
      if (slot !== undefined && state.table.clusterVersionAt(slot) >= announced.clusterVersion) continue;
      void this.refresh(state, id);
    }
  }

  private async load(state: ScoringState, candidateId: string): Promise<void> {
    let clusters;
    try {
      clusters = await this.source.get(candidateId);
    } catch (err) {
      this.deps.metrics.loads.inc({ outcome: 'failed' });
      this.logger.warn({ err, candidateId }, 'GetClusters failed; retrying');
      if (!this.abort.signal.aborted) setTimeout(() => this.states.holds(state) && void this.refresh(state, candidateId), RETRY_MS).unref();
      return;
    }
    // Superseded while fetching: the newer state completes its own table.
    if (!clusters || !this.states.holds(state)) return;
    this.admit(state, [clusters]);
  }
}
