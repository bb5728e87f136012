import { Subjects, type BusSubscription, type EventBus } from '@ralm/platform';
import type { ClustererDeps } from './ports';

/** Keeps the tracker in step with candidate lifecycle and seed counts. */
export async function subscribeClusterer(bus: EventBus, deps: ClustererDeps): Promise<BusSubscription[]> {
  const prefix = deps.config.DURABLE_PREFIX;
  return Promise.all([
    bus.subscribe(Subjects.candidateRegistered, async (e) => deps.tracker.registered(e.candidate!.candidateId), { durable: `${prefix}-candidates` }),
    bus.subscribe(Subjects.candidateRetired, async (e) => deps.tracker.retired(e.candidate!.candidateId), { durable: `${prefix}-retired` }),
    bus.subscribe(Subjects.seedsUpdated, async (e) => deps.tracker.seedsUpdated(e.candidateId, e.seedCount, e.seedVersion), { durable: `${prefix}-seeds` }),
  ]);
}
