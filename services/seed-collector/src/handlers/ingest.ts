import type { Click as ClickProto, ClickRejection } from '@ralm/proto/seed_collector';
import { Subjects, requireCount, type CallContext } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';

/** Clicks per request message (ReportClicks, and each StreamClicks message). */
export const MAX_CLICKS_PER_MESSAGE = 10_000;
/** Publishes in flight at once: enough to hide the bus round trip, few enough to bound memory. */
const PUBLISH_WINDOW = 256;

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejections: ClickRejection[];
}

/**
 * Validates a batch and publishes the valid clicks to `ralm.v1.click.recorded`
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
  for (let i = 0; i < toPublish.length; i += PUBLISH_WINDOW) {
    ctx.throwIfDone();
    const window = toPublish.slice(i, i + PUBLISH_WINDOW);
    const acks = await Promise.all(
      window.map((c) =>
        deps.bus.publish(
          Subjects.clickRecorded,
          { eventId: c.eventId, userId: c.userId, candidateId: c.candidateId, timestampMs: c.timestampMs },
          { msgId: c.eventId },
        ),
      ),
    );
    for (const ack of acks) {
      if (ack.duplicate) result.duplicates++;
      else result.accepted++;
    }
  }
  deps.metrics.clicks.inc({ source: 'grpc', outcome: 'accepted' }, result.accepted);
  deps.metrics.clicks.inc({ source: 'grpc', outcome: 'duplicate' }, result.duplicates);
  deps.metrics.clicks.inc({ source: 'grpc', outcome: 'rejected' }, result.rejections.length);
  return result;
}
