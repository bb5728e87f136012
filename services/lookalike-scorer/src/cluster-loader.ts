import type { Logger } from '@ralm/platform';
import { candidateRows } from './precompute';
import type { ClusterSource, LookalikeScorerDeps } from './ports';

/** After a failed fetch the candidate is tried again this much later. */
const RETRY_MS = 2_000;

/**
 * Brings a candidate's precomputed rows in the current scoring table up to date
 * with its latest clusters: fetched, checked against the model version, and
 * written in place. One fetch per candidate at a time; a change announced
 * meanwhile runs once more afterwards, so the newest clustering always wins.
 */
export class ClusterLoader {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(
    private readonly deps: LookalikeScorerDeps,
    private readonly source: ClusterSource,
    private readonly logger: Logger,
  ) {}

  refresh(candidateId: string): Promise<void> {
    const inFlight = this.running.get(candidateId);
    if (inFlight) {
      this.again.add(candidateId);
      return inFlight;
    }
    const run = this.load(candidateId).finally(() => {
      this.running.delete(candidateId);
      if (this.again.delete(candidateId) && !this.stopped) void this.refresh(candidateId);
    });
    this.running.set(candidateId, run);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running.values());
  }

  private async load(candidateId: string): Promise<void> {
    const { deps } = this;
    const state = deps.state();
    if (!state) return;
    let clusters;
    try {
      clusters = await this.source.get(candidateId);
    } catch (err) {
      deps.metrics.loads.inc({ outcome: 'failed' });
      this.logger.warn({ err, candidateId }, 'GetClusters failed; retrying');
      if (!this.stopped) setTimeout(() => void this.refresh(candidateId), RETRY_MS).unref();
      return;
    }
    // A model switch while fetching: the new state loads its own clusters.
    if (!clusters || deps.state() !== state) return;
    const info = deps.book.get(candidateId);
    if (info && !info.active) {
      state.table.remove(candidateId);
      return;
    }
    if (clusters.modelVersion !== state.version || clusters.dimension !== state.serving.userDim) {
      deps.metrics.loads.inc({ outcome: 'stale' });
      return;
    }
    const current = state.table.slot(candidateId);
    if (current !== undefined && state.table.clusterVersionAt(current) >= clusters.clusterVersion) return;
    state.table.put(candidateId, candidateRows(state.serving, clusters, state.table.k));
    deps.book.clustersAnnounced(candidateId, clusters.clusterVersion, clusters.modelVersion, clusters.seedCount);
    deps.metrics.loads.inc({ outcome: 'loaded' });
  }
}
