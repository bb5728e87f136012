import { Subjects, type BusSubscription, type EventBus, type Logger } from '@ralm/platform';
import type { Candidate } from '@ralm/proto/common';
import type { ClustererDeps } from './ports';

/** Keeps the tracker in step with candidate lifecycle and seed counts. */
export async function subscribeClusterer(bus: EventBus, deps: ClustererDeps, logger: Logger): Promise<BusSubscription[]> {
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
      { durable: `${prefix}-candidates` },
    ),
    bus.subscribe(
      Subjects.candidateRetired,
      async (e, d) => {
        const id = candidateIdOf(e, d.subject, d.streamSeq);
        if (id) deps.tracker.retired(id);
      },
      { durable: `${prefix}-retired` },
    ),
    bus.subscribe(Subjects.seedsUpdated, async (e) => deps.tracker.seedsUpdated(e.candidateId, e.seedCount, e.seedVersion), { durable: `${prefix}-seeds` }),
  ]);
}
