import { FailedPreconditionError, NotFoundError } from '@ralm/platform/errors';

/** What a finished clustering of a candidate was computed from. */
export interface ClusteringStamp {
  clusterVersion: number;
  seedVersion: number;
  seedCount: number;
  modelVersion: string;
  computedAtMs: number;
}

export interface TrackedCandidate {
  readonly candidateId: string;
  active: boolean;
  seedCount: number;
  seedVersion: number;
  /** The latest clustering, if any. */
  clustered?: ClusteringStamp;
}

/** Why a candidate should be clustered now; also the order of priority (first is most urgent). */
export type DueReason = 'first' | 'model' | 'growth' | 'schedule';
const PRIORITY: Record<DueReason, number> = { first: 0, model: 1, growth: 2, schedule: 3 };

export interface PlannerOptions {
  /** Seeds a candidate needs before it is clustered (paper: 100). */
  minSeeds: number;
  /** A candidate whose seeds changed is re-clustered once this long after its last clustering (paper: 5 minutes). */
  intervalMs: number;
  /** …or as soon as its seed count grew by this fraction since then (0.5 = half as many again). */
  growthFraction: number;
}

/**
 * What the clusterer knows of each candidate from the bus (active or not, seed
 * count and version) and from its own work (the latest clustering), and the
 * rule that turns both into "cluster now". Pure: callers pass the time.
 * Events may arrive out of order after a redelivery, so an older seed version
 * never overwrites a newer one.
 */
export class SeedTracker {
  private readonly candidates = new Map<string, TrackedCandidate>();
  /** The model version embeddings currently come from, once known. */
  modelVersion: string | undefined;

  constructor(readonly options: PlannerOptions = { minSeeds: 100, intervalMs: 300_000, growthFraction: 0.5 }) {}

  registered(candidateId: string): TrackedCandidate {
    let tracked = this.candidates.get(candidateId);
    if (!tracked) this.candidates.set(candidateId, (tracked = { candidateId, active: true, seedCount: 0, seedVersion: 0 }));
    return tracked;
  }

  retired(candidateId: string): void {
    this.registered(candidateId).active = false;
  }

  seedsUpdated(candidateId: string, seedCount: number, seedVersion: number): void {
    const tracked = this.registered(candidateId);
    if (seedVersion < tracked.seedVersion) return;
    tracked.seedCount = seedCount;
    tracked.seedVersion = seedVersion;
  }

  /** Records a finished clustering (from a job, or loaded from the store at start). */
  clustered(candidateId: string, stamp: ClusteringStamp): void {
    const tracked = this.registered(candidateId);
    if (tracked.clustered && tracked.clustered.clusterVersion > stamp.clusterVersion) return;
    tracked.clustered = { ...stamp };
    // Seeds known from the clustering are at least as new as what it saw.
    if (stamp.seedVersion > tracked.seedVersion) {
      tracked.seedVersion = stamp.seedVersion;
      tracked.seedCount = stamp.seedCount;
    }
  }

  has(candidateId: string): boolean {
    return this.candidates.has(candidateId);
  }

  get(candidateId: string): TrackedCandidate {
    const tracked = this.candidates.get(candidateId);
    if (!tracked) throw new NotFoundError('candidate', candidateId, 'the clusterer has seen no registration or seeds for it');
    return tracked;
  }

  /** Active with at least the minimum seeds: what the scorer may serve, once clustered. */
  servable(candidateId: string): boolean {
    const t = this.candidates.get(candidateId);
    return t !== undefined && t.active && t.seedCount >= this.options.minSeeds;
  }

  /**
   * Servable candidates, and how many of them have been clustered (or found to have
   * no seed with an embedding) with `modelVersion` (with any model when undefined).
   */
  coverage(modelVersion: string | undefined): { servable: number; clusteredWithModel: number } {
    let servable = 0;
    let clusteredWithModel = 0;
    for (const t of this.candidates.values()) {
      if (!t.active || t.seedCount < this.options.minSeeds) continue;
      servable++;
      if (t.clustered && (modelVersion === undefined || t.clustered.modelVersion === modelVersion)) clusteredWithModel++;
    }
    return { servable, clusteredWithModel };
  }

  /** Throws when a candidate cannot be clustered yet, saying why. */
  requireClusterable(candidateId: string): TrackedCandidate {
    const tracked = this.get(candidateId);
    if (!tracked.active) throw new FailedPreconditionError(`candidate '${candidateId}' is retired`, { ids: [candidateId] });
    if (tracked.seedCount < this.options.minSeeds) {
      throw new FailedPreconditionError(`candidate '${candidateId}' has ${tracked.seedCount} seeds; clustering starts at ${this.options.minSeeds}`, { ids: [candidateId] });
    }
    return tracked;
  }

  /**
   * Why `candidateId` should be clustered at `nowMs`, or undefined to skip it:
   * at once when it first reaches the minimum seeds, when the model changed, or
   * when its seeds grew by the growth fraction; on the schedule when its seeds
   * changed at all; never when nothing changed.
   */
  due(candidateId: string, nowMs: number): DueReason | undefined {
    const t = this.candidates.get(candidateId);
    if (!t || !t.active || t.seedCount < this.options.minSeeds) return undefined;
    const c = t.clustered;
    if (!c) return 'first';
    if (this.modelVersion !== undefined && c.modelVersion !== this.modelVersion) return 'model';
    if (t.seedVersion === c.seedVersion) return undefined;
    if (t.seedCount >= c.seedCount * (1 + this.options.growthFraction)) return 'growth';
    if (nowMs - c.computedAtMs >= this.options.intervalMs) return 'schedule';
    return undefined;
  }

  /** Every candidate due at `nowMs`, most urgent first (ties: fewest seeds first, the quickest to make servable). */
  dueCandidates(nowMs: number): Array<{ candidateId: string; reason: DueReason }> {
    const due: Array<{ candidateId: string; reason: DueReason; seeds: number }> = [];
    for (const t of this.candidates.values()) {
      const reason = this.due(t.candidateId, nowMs);
      if (reason) due.push({ candidateId: t.candidateId, reason, seeds: t.seedCount });
    }
    due.sort((a, b) => PRIORITY[a.reason] - PRIORITY[b.reason] || a.seeds - b.seeds);
    return due.map(({ candidateId, reason }) => ({ candidateId, reason }));
  }
}
