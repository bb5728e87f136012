import { FeedbackKind } from '@ralm/proto/feedback';
import { Subjects, type BusSubscription, type Logger } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';
import { toDomainEvent } from './mapping';

/**
 * Counts `ralm.v1.feedback.recorded` in the A/B window. The window is a function of the
 * last day of the stream, so at every start the durable is repositioned to the window's
 * start and the day is replayed: a restart loses no accepted feedback from the measures,
 * and nothing needs snapshotting.
 */
export function startFeedbackConsumer(deps: SeedCollectorDeps, logger: Logger): Promise<BusSubscription> {
  const startedAtMs = deps.now();
  // Arms dropped from the configuration still appear in the replayed day: say so once per arm, not per event.
  const warned = new Set<string>();
  return deps.bus.subscribe(
    Subjects.feedbackRecorded,
    async (message, delivery) => {
      const event = message.event;
      if (!event) {
        deps.metrics.feedback.inc({ source: 'bus', outcome: 'malformed' });
        return;
      }
      // The replayed day may hold another experiment's events (a new id after a change of
      // salt or arms): they must not count towards this one, even under the same arm names.
      if (message.experimentId !== deps.assigner.config.id) {
        if (delivery.publishedAtMs >= startedAtMs) deps.metrics.feedback.inc({ source: 'bus', outcome: 'other_experiment' });
        return;
      }
      // Publishers on the bus may leave the arm to the same hash the gRPC intake uses.
      const arm = event.arm || deps.assigner.assign(event.userId);
      const outcome = deps.ab.apply(event.eventId, toDomainEvent({ ...event, arm }), deps.now());
      if (outcome === 'unknown_arm' && !warned.has(event.arm)) {
        warned.add(event.arm);
        logger.warn({ eventId: event.eventId, arm: event.arm }, 'feedback for an arm this deployment does not have (arms changed?); such events are not counted');
      }
      // The replayed day rebuilds the window but must not reach the counters: a restarted
      // process's counters start at 0, and a day of events at once would be a false spike in rate().
      if (delivery.publishedAtMs < startedAtMs) return;
      deps.metrics.feedback.inc({ source: 'bus', outcome });
      if (outcome === 'applied') (event.kind === FeedbackKind.FEEDBACK_KIND_CLICK ? deps.metrics.abClicks : deps.metrics.abExposures).inc({ arm });
    },
    {
      durable: deps.config.AB_DURABLE,
      startTimeMs: Math.max(0, startedAtMs - deps.config.AB_WINDOW_SECONDS * 1000),
      onDropped: () => deps.metrics.feedback.inc({ source: 'bus', outcome: 'dropped' }),
    },
  );
}
