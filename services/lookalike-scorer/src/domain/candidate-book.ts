import { NotServableReason } from '@ralm/proto/lookalike_scorer';

/** What the scorer knows of a candidate from the bus. */
export interface CandidateInfo {
  readonly candidateId: string;
  active: boolean;
  seedCount: number;
  seedVersion: number;
  /** The newest clustering announced (whatever its model), if any. */
  announced?: { clusterVersion: number; modelVersion: string; seedCount: number };
}

/**
 * Candidate lifecycle, seed counts and announced clusterings, from the bus;
 * and the rule that says whether a candidate is servable and, if not, why.
 * Pure: the precomputed rows live in the scoring table.
 */
export class CandidateBook {
  private readonly candidates = new Map<string, CandidateInfo>();

  constructor(readonly minSeeds: number) {}

  private entry(candidateId: string): CandidateInfo {
    let info = this.candidates.get(candidateId);
    if (!info) this.candidates.set(candidateId, (info = { candidateId, active: true, seedCount: 0, seedVersion: 0 }));
    return info;
  }

  registered(candidateId: string): void {
    this.entry(candidateId);
  }

  retired(candidateId: string): void {
    this.entry(candidateId).active = false;
  }

  seedsUpdated(candidateId: string, seedCount: number, seedVersion: number): void {
    const info = this.entry(candidateId);
    if (seedVersion < info.seedVersion) return;
    info.seedCount = seedCount;
    info.seedVersion = seedVersion;
  }

  /** Records an announced clustering; false when it is older than one already known (a redelivery). */
  clustersAnnounced(candidateId: string, clusterVersion: number, modelVersion: string, seedCount: number): boolean {
    const info = this.entry(candidateId);
    if (info.announced && info.announced.clusterVersion >= clusterVersion) return false;
    info.announced = { clusterVersion, modelVersion, seedCount };
    if (seedCount > info.seedCount) info.seedCount = seedCount;
    return true;
  }

  get(candidateId: string): CandidateInfo | undefined {
    return this.candidates.get(candidateId);
  }

  /**
   * Why a candidate cannot be scored with `modelVersion`, or UNSPECIFIED when it
   * can (`loaded`: its clusters for that model are in the scoring table).
   */
  reason(candidateId: string, modelVersion: string, loaded: boolean): NotServableReason {
    const info = this.candidates.get(candidateId);
    if (!info) return NotServableReason.NOT_SERVABLE_REASON_UNKNOWN_CANDIDATE;
    if (!info.active) return NotServableReason.NOT_SERVABLE_REASON_NOT_ACTIVE;
    if (info.seedCount < this.minSeeds) return NotServableReason.NOT_SERVABLE_REASON_TOO_FEW_SEEDS;
    if (loaded) return NotServableReason.NOT_SERVABLE_REASON_UNSPECIFIED;
    if (info.announced && info.announced.modelVersion !== modelVersion) return NotServableReason.NOT_SERVABLE_REASON_MODEL_MISMATCH;
    return NotServableReason.NOT_SERVABLE_REASON_NO_CLUSTERS;
  }
}
