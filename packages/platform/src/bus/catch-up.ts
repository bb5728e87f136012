import type { BusSubscription } from './port';

/**
 * Whether subscriptions that replay their subject at start have caught up with it
 * once: the state they rebuild is complete, so the service may call itself ready.
 * Latched: lag after that is the normal life of a consumer, not a reason to stop serving.
 * Checked in the background, since asking a NATS consumer is a round trip.
 */
export class CatchUp {
  private caughtUp = false;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly subscriptions: () => readonly BusSubscription[],
    private readonly intervalMs = 100,
  ) {}

  /** True once every subscription had nothing pending at one check. */
  get done(): boolean {
    return this.caughtUp;
  }

  start(): void {
    if (this.caughtUp || this.timer) return;
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.checking || this.caughtUp) return;
    this.checking = true;
    try {
      const subs = this.subscriptions();
      if (subs.length === 0) return;
      const pending = await Promise.all(subs.map((s) => s.pending()));
      if (pending.every((p) => p === 0)) {
        this.caughtUp = true;
        this.stop();
      }
    } catch {
      // The bus is unreachable: not caught up; the next tick asks again.
    } finally {
      this.checking = false;
    }
  }
}
