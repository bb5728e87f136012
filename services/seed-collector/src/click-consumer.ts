import { Subjects, type BusSubscription } from '@ralm/platform';
import type { Logger } from '@ralm/platform';
import type { SeedCollectorDeps } from './ports';

/**
 * Applies `ralm.v1.click.recorded` to the seed book. The bus acks a message only
 * after this handler returns, and the book ignores event ids it has applied, so
 * redelivery after a crash or a consumer restart never double-counts.
 *
 * Timestamps are checked against the time the click entered the stream, not
 * this consumer's clock: a consumer that lags (a restart, a backlog) must not
 * refuse a click the gRPC path already accepted as fresh.
 */
export function startClickConsumer(deps: SeedCollectorDeps, logger: Logger): Promise<BusSubscription> {
  return deps.bus.subscribe(
    Subjects.clickRecorded,
    async (click, delivery) => {
      const outcome = deps.book.apply(click, delivery.publishedAtMs);
      deps.metrics.clicks.inc({ source: 'bus', outcome: outcome.kind });
      if (outcome.kind === 'rejected') {
        deps.metrics.rejections.inc({ reason: outcome.rejection.reason });
        logger.debug({ eventId: click.eventId, reason: outcome.rejection.reason, seq: delivery.streamSeq }, 'click rejected');
      }
    },
    {
      durable: deps.config.CLICKS_DURABLE,
      deliverPolicy: 'all',
      // The bus logs each drop itself; the counter makes them visible on a dashboard.
      onDropped: () => deps.metrics.clicks.inc({ source: 'bus', outcome: 'dropped' }),
    },
  );
}

/**
 * Announces changed candidates on `ralm.v1.seeds.updated` once per period, so a
 * burst of clicks yields one message per candidate instead of one per click.
 */
export function startSeedsAnnouncer(deps: SeedCollectorDeps, logger: Logger): { flush(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const flush = () =>
    (running = running.then(async () => {
      for (const candidateId of deps.book.takeDirty()) {
        const record = deps.book.get(candidateId);
        try {
          await deps.bus.publish(Subjects.seedsUpdated, {
            candidateId,
            seedCount: deps.book.seedCount(candidateId),
            seedVersion: record.seedVersion,
            updatedAtMs: deps.now(),
          });
          deps.metrics.seedsAnnounced.inc();
        } catch (err) {
          deps.book.markDirty(candidateId);
          logger.warn({ err, candidateId }, 'seeds.updated publish failed; will retry next period');
        }
      }
    }));
  const timer = setInterval(() => void flush(), deps.config.SEEDS_UPDATED_INTERVAL_MS);
  timer.unref();
  return {
    flush,
    stop: async () => {
      clearInterval(timer);
      await flush();
    },
  };
}
