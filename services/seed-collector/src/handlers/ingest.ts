import type { Click as ClickProto, ClickRejection } from '@ralm/proto/seed_collector';
import { requireCount, type CallContext, type PublishAck } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';

/** Clicks per request message (ReportClicks, and each StreamClicks message). */
export const MAX_CLICKS_PER_MESSAGE = 10_000;
/** Publishes in flight at once: enough to hide the bus round trip, few enough to bound memory. */
const PUBLISH_WINDOW = 256;

/**
 * Publishes `items` PUBLISH_WINDOW at a time (checking the call is still wanted between
 * windows) and counts what the bus stored and what it dropped as a repeat of its msgId.
 */
export async function publishWindowed<T>(items: T[], publish: (item: T) => Promise<PublishAck>, ctx: CallContext): Promise<{ stored: number; duplicates: number }> {
  const counts = { stored: 0, duplicates: 0 };
  for (let i = 0; i < items.length; i += PUBLISH_WINDOW) {
    ctx.throwIfDone();
    for (const ack of await Promise.all(items.slice(i, i + PUBLISH_WINDOW).map(publish))) ack.duplicate ? counts.duplicates++ : counts.stored++;
  }
  return counts;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejections: ClickRejection[];
}

/**
 * Validates a batch of one partition's clicks and publishes the valid ones to its subject
 * with the event id as the bus idempotency key. A click counts as accepted once
 * the bus has it durably; the click consumer applies it to the seed sets, so a
 * crash between the two loses nothing.
 */
export async function ingestClicks(clicks: ClickProto[], deps: SeedCollectorDeps, ctx: CallContext): Promise<IngestResult> {
  requireCount(clicks.length, 'clicks', 1, MAX_CLICKS_PER_MESSAGE);
  const now = deps.now();
  const result: IngestResult = { accepted: 0, duplicates: 0, rejections: [] };
  const inBatch = new Set<string>();
  const toPublish: ClickProto[] = [];
  clicks.forEach((click, index) => {
    const rejection = deps.book.check(click, now);
    if (rejection) {
      result.rejections.push({ index, eventId: click.eventId, field: rejection.field, reason: rejection.message });
      deps.metrics.rejections.inc({ reason: rejection.reason });
    } else if (inBatch.has(click.eventId) || deps.book.hasSeen(click.eventId)) {
      result.duplicates++;
    } else {
      inBatch.add(click.eventId);
      toPublish.push(click);
    }
  });
  const published = await publishWindowed(
    toPublish,
    (c) => deps.bus.publish(deps.partition.clicks, { eventId: c.eventId, userId: c.userId, candidateId: c.candidateId, timestampMs: c.timestampMs }, { msgId: c.eventId }),
    ctx,
  );
  result.accepted += published.stored;
  result.duplicates += published.duplicates;
  deps.metrics.clicks.inc({ source: 'grpc', outcome: 'accepted' }, result.accepted);
  deps.metrics.clicks.inc({ source: 'grpc', outcome: 'duplicate' }, result.duplicates);
  deps.metrics.clicks.inc({ source: 'grpc', outcome: 'rejected' }, result.rejections.length);
  return result;
}

/**
 * Feedback's clicks on live candidates of this partition, published as seed clicks (the
 * seed book and the bus's msgId keep one from counting twice); the others are no seeds and
 * no error either.
 */
export async function publishSeedClicks(clicks: ClickProto[], deps: SeedCollectorDeps, ctx: CallContext): Promise<number> {
  const now = deps.now();
  const live = clicks.filter((click) => deps.book.check(click, now) === undefined && !deps.book.hasSeen(click.eventId));
  return (await publishWindowed(live, (click) => deps.bus.publish(deps.partition.clicks, click, { msgId: click.eventId }), ctx)).stored;
}
