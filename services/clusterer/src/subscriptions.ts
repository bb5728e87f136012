import { Subjects, type BusSubscription, type EventBus, type Logger } from '@ralm/platform';
import type { Candidate } from '@ralm/proto/common';
import type { ClustererDeps } from './ports';

/**
 * Keeps the tracker in step with candidate lifecycle, seed counts and the model.
 * The tracker lives in memory, so every start replays these subjects from the
 * beginning of the stream (startSeq 1): the events are small and idempotent, and
 * the replay rebuilds what a restart forgot. `on` wakes the worker.
 */
export async function subscribeClusterer(
  bus: EventBus,
  deps: ClustererDeps,
  logger: Logger,
  on: { seeds(): void; published(version: string): void } = { seeds() {}, published() {} },
): Promise<BusSubscription[]> {
  const prefix = deps.config.DURABLE_PREFIX;
  /**
   * The candidate id of a lifecycle event, or undefined (logged) when a foreign or
   * broken producer left the candidate out: throwing would only redeliver it.
   */
  const candidateIdOf = (e: { candidate?: Candidate | undefined }, subject: string, streamSeq: number): string | undefined => {
    const id = e.candidate?.candidateId;
    if (!id) logger.warn({ subject, streamSeq }, 'lifecycle event without a candidate id; ignored');
    return id || undefined;
  };
  return Promise.all([
    bus.subscribe(
      Subjects.candidateRegistered,
      async (e, d) => {
        const id = candidateIdOf(e, d.subject, d.streamSeq);
        if (id) deps.tracker.registered(id);
      },
      { durable: `${prefix}-candidates`, startSeq: 1 },
    ),
    bus.subscribe(
      Subjects.candidateRetired,
      async (e, d) => {
        const id = candidateIdOf(e, d.subject, d.streamSeq);
        if (id) deps.tracker.retired(id);
      },
      { durable: `${prefix}-retired`, startSeq: 1 },
    ),
    bus.subscribe(
      Subjects.seedsUpdated,
      async (e) => {
        deps.tracker.seedsUpdated(e.candidateId, e.seedCount, e.seedVersion);
        on.seeds();
      },
      { durable: `${prefix}-seeds`, startSeq: 1 },
    ),
    bus.subscribe(
      Subjects.modelPublished,
      // Only a hint to ask UserEmbedding sooner: the model clustered with is the one it says it serves.
      async (e) => {
        if (e.modelVersion) on.published(e.modelVersion);
      },
      { durable: `${prefix}-models`, startSeq: 1 },
    ),
  ]);
}
