import { FeedbackKind, type FeedbackEvent as FeedbackEventProto } from '@ralm/proto/feedback';
import type { FeedbackEvent } from '@ralm/experiment';

/** The wire event as the measures see it; `arm` must already be resolved. */
export function toDomainEvent(e: FeedbackEventProto): FeedbackEvent {
  return {
    userId: e.userId,
    itemId: e.itemId,
    kind: e.kind === FeedbackKind.FEEDBACK_KIND_CLICK ? 'click' : 'exposure',
    arm: e.arm,
    timestampMs: e.timestampMs,
    category: e.category,
    tags: e.tags,
  };
}
