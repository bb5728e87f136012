import { Subjects, type BusSubscription, type EventBus, type Logger } from '@ralm/platform';
import type { Candidate } from '@ralm/proto/common';
import type { ClustererDeps } from './ports';

/**
 * Keeps the tracker in step with candidate lifecycle, seed counts and the model.
 * The tracker lives in memory, so every start replays these subjects from the
 * beginning of the stream (startSeq 1): the events are small and idempotent, and
 * the replay rebuilds what a restart forgot. `onChange` wakes the worker.
 */
export async function subscribeClusterer(bus: EventBus, deps: ClustererDeps, logger: Logger, onChange: (what: 'seeds' | 'model') => void = () => {}): Promise<BusSubscription[]> {
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
        onChange('seeds');
      },
      { durable: `${prefix}-seeds`, startSeq: 1 },
    ),
    bus.subscribe(
      Subjects.modelPublished,
      async (e) => {
        const pinned = deps.config.MODEL_VERSION;
        if (pinned && e.modelVersion !== pinned) return;
        if (e.modelVersion && e.modelVersion !== deps.tracker.modelVersion) {
          deps.tracker.modelVersion = e.modelVersion;
          onChange('model');
        }
      },
      { durable: `${prefix}-models`, startSeq: 1 },
    ),
  ]);
}
