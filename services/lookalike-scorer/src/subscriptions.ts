import { Subjects, type BusSubscription, type EventBus, type Logger } from '@ralm/platform';
import type { ClusterLoader } from './cluster-loader';
import type { ModelStates } from './model-states';
import type { LookalikeScorerDeps } from './ports';

/**
 * Candidate lifecycle, seed counts and cluster announcements. The book lives in
 * memory, so every start replays these subjects from the stream's beginning
 * (startSeq 1): the events are small and idempotent. The durables are per
 * replica (DURABLE_PREFIX), so they expire after DURABLE_INACTIVE_SECONDS
 * without their replica; a replay at start never needs an old one.
 */
export async function subscribeScorer(bus: EventBus, deps: LookalikeScorerDeps, states: ModelStates, loader: ClusterLoader, logger: Logger): Promise<BusSubscription[]> {
  const prefix = deps.config.DURABLE_PREFIX;
  const replica = (name: string) => ({ durable: `${prefix}-${name}`, startSeq: 1, inactiveAfterSeconds: deps.config.DURABLE_INACTIVE_SECONDS });
  const idOf = (e: { candidate?: { candidateId: string } | undefined }, subject: string) => {
    const id = e.candidate?.candidateId;
    if (!id) logger.warn({ subject }, 'lifecycle event without a candidate id; ignored');
    return id || undefined;
  };
  return Promise.all([
    bus.subscribe(Subjects.candidateRegistered, async (e, d) => {
      const id = idOf(e, d.subject);
      if (id) deps.book.registered(id);
    }, replica('candidates')),
    bus.subscribe(Subjects.candidateRetired, async (e, d) => {
      const id = idOf(e, d.subject);
      if (!id) return;
      deps.book.retired(id);
      states.active?.table.remove(id);
      states.next?.table.remove(id);
    }, replica('retired')),
    bus.subscribe(Subjects.seedsUpdated, async (e) => deps.book.seedsUpdated(e.candidateId, e.seedCount, e.seedVersion), replica('seeds')),
    bus.subscribe(Subjects.clustersUpdated, async (e) => {
      const newer = deps.book.clustersAnnounced(e.candidateId, e.clusterVersion, e.modelVersion, e.seedCount);
      const state = states.stateFor(e.modelVersion);
      // Not awaited: a slow GetClusters must not hold up the other announcements.
      if (newer && state) void loader.refresh(state, e.candidateId);
    }, replica('clusters')),
  ]);
}
