import { Subjects, type BusSubscription, type EventBus, type Logger } from '@ralm/platform';
import type { ClusterLoader } from './cluster-loader';
import type { LookalikeScorerDeps } from './ports';

/**
 * Candidate lifecycle, seed counts and cluster announcements. The book lives in
 * memory, so every start replays these subjects from the stream's beginning
 * (startSeq 1): the events are small and idempotent.
 */
export async function subscribeScorer(bus: EventBus, deps: LookalikeScorerDeps, loader: ClusterLoader, logger: Logger): Promise<BusSubscription[]> {
  const prefix = deps.config.DURABLE_PREFIX;
  const idOf = (e: { candidate?: { candidateId: string } | undefined }, subject: string) => {
    const id = e.candidate?.candidateId;
    if (!id) logger.warn({ subject }, 'lifecycle event without a candidate id; ignored');
    return id || undefined;
  };
  return Promise.all([
    bus.subscribe(Subjects.candidateRegistered, async (e, d) => {
      const id = idOf(e, d.subject);
      if (id) deps.book.registered(id);
    }, { durable: `${prefix}-candidates`, startSeq: 1 }),
    bus.subscribe(Subjects.candidateRetired, async (e, d) => {
      const id = idOf(e, d.subject);
      if (!id) return;
      deps.book.retired(id);
      deps.state()?.table.remove(id);
    }, { durable: `${prefix}-retired`, startSeq: 1 }),
    bus.subscribe(Subjects.seedsUpdated, async (e) => deps.book.seedsUpdated(e.candidateId, e.seedCount, e.seedVersion), { durable: `${prefix}-seeds`, startSeq: 1 }),
    bus.subscribe(Subjects.clustersUpdated, async (e) => {
      const newer = deps.book.clustersAnnounced(e.candidateId, e.clusterVersion, e.modelVersion, e.seedCount);
      // Not awaited: a slow GetClusters must not hold up the other announcements.
      if (newer && e.modelVersion === deps.state()?.version) void loader.refresh(e.candidateId);
    }, { durable: `${prefix}-clusters`, startSeq: 1 }),
  ]);
}
