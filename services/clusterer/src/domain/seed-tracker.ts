import { FailedPreconditionError, NotFoundError } from '@ralm/platform/errors';

export interface TrackedCandidate {
  readonly candidateId: string;
  active: boolean;
  seedCount: number;
  seedVersion: number;
}

/**
 * What the clusterer knows of each candidate from the bus: whether it is
 * active and how many seeds it has. Events may arrive out of order after a
 * redelivery, so an older seed version never overwrites a newer one.
 */
export class SeedTracker {
  private readonly candidates = new Map<string, TrackedCandidate>();

  registered(candidateId: string): void {
    if (!this.candidates.has(candidateId)) this.candidates.set(candidateId, { candidateId, active: true, seedCount: 0, seedVersion: 0 });
  }

  retired(candidateId: string): void {
    this.registered(candidateId);
    this.candidates.get(candidateId)!.active = false;
  }

  seedsUpdated(candidateId: string, seedCount: number, seedVersion: number): void {
    this.registered(candidateId);
    const tracked = this.candidates.get(candidateId)!;
    if (seedVersion < tracked.seedVersion) return;
    tracked.seedCount = seedCount;
    tracked.seedVersion = seedVersion;
  }

  get(candidateId: string): TrackedCandidate {
    const tracked = this.candidates.get(candidateId);
    if (!tracked) throw new NotFoundError('candidate', candidateId, 'the clusterer has seen no registration or seeds for it');
    return tracked;
  }

  /** Throws when a candidate cannot be clustered yet, saying why. */
  requireClusterable(candidateId: string, minSeeds: number): TrackedCandidate {
    const tracked = this.get(candidateId);
    if (!tracked.active) throw new FailedPreconditionError(`candidate '${candidateId}' is retired`);
    if (tracked.seedCount < minSeeds) {
      throw new FailedPreconditionError(`candidate '${candidateId}' has ${tracked.seedCount} seeds; clustering starts at ${minSeeds}`);
    }
    return tracked;
  }
}
