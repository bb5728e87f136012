import { Subjects, type BusSubscription } from '@ralm/platform';
import type { Logger } from '@ralm/platform';
import type { CandidateRecord } from './domain/seed-book';
import { toCandidateProto as candidateProto } from './mapping';
import { saveCandidate } from './persistence';
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
export function startClickConsumer(deps: SeedCollectorDeps, logger: Logger, onServable: () => void = () => {}): Promise<BusSubscription> {
  return deps.bus.subscribe(
    deps.partition.clicks,
    async (click, delivery) => {
      const outcome = deps.book.apply(click, delivery.publishedAtMs);
      // Deliveries arrive in stream order and apply() never throws, so the highest
      // sequence seen is a safe replay point for the next snapshot.
      if (delivery.streamSeq > deps.book.appliedSeq) deps.book.appliedSeq = delivery.streamSeq;
      deps.metrics.clicks.inc({ source: 'bus', outcome: outcome.kind });
      // Reaching the minimum makes the candidate clusterable: announce now rather than at the period's end.
      if (outcome.kind === 'applied' && outcome.seedCount === deps.config.SERVABLE_MIN_SEEDS) onServable();
      if (outcome.kind === 'rejected') {
        deps.metrics.rejections.inc({ reason: outcome.rejection.reason });
        logger.debug({ eventId: click.eventId, reason: outcome.rejection.reason, seq: delivery.streamSeq }, 'click rejected');
      }
    },
    {
      durable: deps.partition.durable,
      // The book is a function of the stream: resume right after what the restored snapshot holds.
      startSeq: deps.book.appliedSeq + 1,
      // The bus logs each drop itself; the counter makes them visible on a dashboard.
      onDropped: () => deps.metrics.clicks.inc({ source: 'bus', outcome: 'dropped' }),
    },
  );
}

/**
 * Announces changed candidates on `ralm.v1.seeds.updated` once per period, so a
 * burst of clicks yields one message per candidate instead of one per click.
 */
export function startSeedsAnnouncer(deps: SeedCollectorDeps, logger: Logger): { flush(): Promise<void>; flushSoon(): void; stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let soon = false;
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
    // Coalesced to one flush per event-loop turn, so a burst that crosses the minimum for many candidates publishes once each.
    flushSoon: () => {
      if (soon) return;
      soon = true;
      setImmediate(() => {
        soon = false;
        void flush();
      });
    },
    stop: async () => {
      clearInterval(timer);
      await flush();
    },
  };
}

/**
 * Expires candidates idle for CANDIDATE_IDLE_EXPIRY_SECONDS: persisted first, then
 * announced on `candidate.retired` (the msgId keeps a retried sweep from announcing twice).
 */
export function startExpirySweeper(deps: SeedCollectorDeps, logger: Logger): { sweep(): Promise<void>; stop(): void } {
  const idleMs = deps.config.CANDIDATE_IDLE_EXPIRY_SECONDS * 1000;
  // Expired in the book but not yet persisted and announced (a failure is retried next sweep).
  const unsent = new Map<string, CandidateRecord>();
  let running: Promise<void> = Promise.resolve();
  const sweep = () =>
    (running = running.then(async () => {
      if (idleMs === 0) return;
      for (const record of deps.book.expireIdle(deps.now(), idleMs)) unsent.set(record.candidateId, record);
      for (const record of [...unsent.values()]) {
        try {
          await saveCandidate(deps.store, record);
          await deps.bus.publish(Subjects.candidateRetired, { candidate: candidateProto(record) }, { msgId: `retired:${record.candidateId}` });
          unsent.delete(record.candidateId);
          logger.info({ candidateId: record.candidateId }, 'candidate expired');
        } catch (err) {
          logger.warn({ err, candidateId: record.candidateId }, 'expiry not persisted or announced; retried next sweep');
        }
      }
    }));
  const timer = setInterval(() => void sweep(), deps.config.EXPIRY_CHECK_INTERVAL_SECONDS * 1000);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
