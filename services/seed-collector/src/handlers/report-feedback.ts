import { FeedbackKind, type FeedbackEvent, type ReportFeedbackRequest, type ReportFeedbackResponse } from '@ralm/proto/feedback';
import { idProblem, InvalidArgumentError, requireCount, Subjects, type CallContext } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';
import { publishWindowed } from './ingest';

export const MAX_FEEDBACK_PER_MESSAGE = 10_000;
export const MAX_TAGS = 64;
const MAX_CATEGORY_LENGTH = 256;

/** Bus idempotency keys of feedback live apart from click ids: one event id may be both a feedback and a seed click. */
export const feedbackMsgId = (eventId: string) => `feedback:${eventId}`;

/**
 * Checks the whole batch first (all or nothing), resolves each event's arm, then
 * publishes `ralm.v1.feedback.recorded`; an event counts as accepted once the bus has it
 * durably, and the window consumer counts it in the measures. A click on a registered,
 * active candidate is also published as a seed click under its own event id, so
 * upstream needs one report for both purposes.
 */
export async function reportFeedback(request: ReportFeedbackRequest, deps: SeedCollectorDeps, ctx: CallContext): Promise<ReportFeedbackResponse> {
  requireCount(request.events.length, 'events', 1, MAX_FEEDBACK_PER_MESSAGE);
  const now = deps.now();
  const maxTimestamp = now + deps.config.CLICK_MAX_FUTURE_SKEW_SECONDS * 1000;
  const resolved = request.events.map((e, i) => validate(e, `events[${i}]`, deps, maxTimestamp));
  const result: ReportFeedbackResponse = { accepted: 0, duplicates: 0, seedClicks: 0 };
  const inBatch = new Set<string>();
  const fresh = resolved.filter((e) => {
    const repeat = inBatch.has(e.eventId) || deps.ab.hasSeen(e.eventId);
    inBatch.add(e.eventId);
    if (repeat) result.duplicates++;
    return !repeat;
  });
  const published = await publishWindowed(fresh, (event) => deps.bus.publish(Subjects.feedbackRecorded, { event, experimentId: deps.assigner.config.id }, { msgId: feedbackMsgId(event.eventId) }), ctx);
  result.accepted = published.stored;
  result.duplicates += published.duplicates;
  // From every valid click of the batch, repeats included: when a retry follows a call whose
  // feedback was stored but whose seed click was not, the retry must still record the seed.
  // The seed book and the bus's msgId keep a click from counting twice.
  const clickIds = new Set<string>();
  const seedClicks = resolved
    .filter((e) => e.kind === FeedbackKind.FEEDBACK_KIND_CLICK && !clickIds.has(e.eventId) && clickIds.add(e.eventId))
    .map((e) => ({ eventId: e.eventId, userId: e.userId, candidateId: e.itemId, timestampMs: e.timestampMs }));
  // Items that are not live candidates are simply not seeds: no rejection to report.
  result.seedClicks = await deps.seeds.seedClicks(seedClicks, ctx);
  deps.metrics.feedback.inc({ source: 'grpc', outcome: 'accepted' }, result.accepted);
  deps.metrics.feedback.inc({ source: 'grpc', outcome: 'duplicate' }, result.duplicates);
  return result;
}

function validate(e: FeedbackEvent, at: string, deps: SeedCollectorDeps, maxTimestamp: number): FeedbackEvent {
  const fail = (field: string, problem: string) => {
    deps.metrics.feedback.inc({ source: 'grpc', outcome: 'rejected' });
    throw new InvalidArgumentError(`${at}.${field}`, problem);
  };
  for (const [field, value] of [['event_id', e.eventId], ['user_id', e.userId], ['item_id', e.itemId]] as const) {
    const problem = idProblem(value);
    if (problem) fail(field, problem);
  }
  if (e.kind !== FeedbackKind.FEEDBACK_KIND_EXPOSURE && e.kind !== FeedbackKind.FEEDBACK_KIND_CLICK) fail('kind', 'must be EXPOSURE or CLICK');
  if (e.arm !== '' && !deps.assigner.has(e.arm)) fail('arm', `'${e.arm}' is not an arm of experiment '${deps.assigner.config.id}' (${deps.assigner.armNames.join(', ')})`);
  if (!Number.isSafeInteger(e.timestampMs) || e.timestampMs <= 0) fail('timestamp_ms', `must be a positive unix ms time, got ${e.timestampMs}`);
  if (e.timestampMs > maxTimestamp) fail('timestamp_ms', `is ${e.timestampMs - maxTimestamp} ms beyond the allowed clock skew`);
  if (e.category.length > MAX_CATEGORY_LENGTH || /[\u0000-\u001f\u007f]/.test(e.category)) fail('category', `must be at most ${MAX_CATEGORY_LENGTH} printable characters`);
  if (e.tags.length > MAX_TAGS) fail('tags', `has ${e.tags.length} entries; at most ${MAX_TAGS} allowed`);
  e.tags.forEach((tag, j) => {
    const problem = idProblem(tag);
    if (problem) fail(`tags[${j}]`, problem);
  });
  return e.arm === '' ? { ...e, arm: deps.assigner.assign(e.userId) } : e;
}
