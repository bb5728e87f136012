import { SlidingAbWindow, type FeedbackEvent, type WindowMeasures, type WindowOptions } from '@ralm/experiment';
import { RecencySet } from './recency-set';

export type LedgerOutcome = 'applied' | 'duplicate' | 'late' | 'unknown_arm';

/**
 * The A/B measures' state: the sliding-day window plus the event ids it has counted.
 * Delivery is at least once and upstream may resend a batch after the bus's duplicate
 * window closed, so an event id is counted once however often it arrives (within the
 * last `dedupeCap` ids).
 */
export class AbLedger {
  readonly window: SlidingAbWindow;
  private readonly seen: RecencySet<string>;

  constructor(arms: readonly string[], options: WindowOptions & { dedupeCap: number }) {
    this.window = new SlidingAbWindow(arms, options);
    this.seen = new RecencySet(options.dedupeCap);
  }

  hasSeen(eventId: string): boolean {
    return this.seen.has(eventId);
  }

  apply(eventId: string, event: FeedbackEvent, nowMs: number): LedgerOutcome {
    if (this.seen.has(eventId)) return 'duplicate';
    const outcome = this.window.add(event, nowMs);
    // A late event is remembered too: its resend is a duplicate, not late again.
    if (outcome !== 'unknown_arm') this.seen.addNew(eventId);
    return outcome;
  }

  measures(nowMs: number): Map<string, WindowMeasures> {
    return this.window.measures(nowMs);
  }
}
