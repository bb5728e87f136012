import { Fifo } from '../collections/fifo';
import { DeadlineExceededError, ResourceExhaustedError } from '../errors';

/** How much of one method a server runs at once, and how much it lets wait. */
export interface MethodLimit {
  /** Units (calls, or what the method's cost counts, e.g. users) running at once. */
  readonly concurrency: number;
  /** Units waiting for a turn; 0 = refuse at once when all turns are taken (long-lived streams). */
  readonly queue: number;
}

/** Why a call was turned away without running. */
export type ShedReason = 'queue_full' | 'would_miss_deadline' | 'expired_in_queue' | 'cancelled_in_queue';

/** A refusal that says when trying again is worth it: sent as `grpc-retry-pushback-ms`, which grpc clients' retry policies honour. */
export class OverloadedError extends ResourceExhaustedError {
  constructor(
    readonly method: string,
    readonly reason: Extract<ShedReason, 'queue_full' | 'would_miss_deadline'>,
    readonly retryAfterMs: number,
    detail: string,
  ) {
    super(`${method} is overloaded (${detail}); retry after ${retryAfterMs} ms or against another replica`);
  }
}

export interface AdmissionObserver {
  /** A call was turned away, or skipped because its caller left before its turn. */
  shed(method: string, reason: ShedReason): void;
  /** Units running and waiting changed. */
  load(method: string, running: number, queued: number): void;
}

interface Waiter {
  readonly cost: number;
  readonly resolve: (release: () => void) => void;
  readonly reject: (err: unknown) => void;
  settled: boolean;
  detach(): void;
}

/** Weight of the running-mean service time: about the last 20 calls. */
const EWMA = 0.05;

/**
 * Share of a call's remaining time its expected turn (wait plus its own run) may take.
 * The rest is for what the server cannot see: the reply's way back, the caller's own
 * event loop, a batch running when the estimate was made. Admitting up to the whole
 * deadline fills the queue with calls that finish on the server just in time and
 * reach their callers too late: measured (bench/overload.ts), most of them.
 */
export const DEADLINE_SHARE = 0.5;

/**
 * Admission for one method: at most `concurrency` units run, at most `queue` units
 * wait in arrival order, and everything else is refused at once, cheaply, with a
 * retry hint. A waiting call whose caller leaves (deadline, cancel) gives its place
 * back and is never started; a call whose expected wait already exceeds its deadline
 * (more than DEADLINE_SHARE of the time it has left) is refused on arrival instead
 * of queueing to fail later. So under any offered load
 * the work done is for callers still waiting for it, and memory stays bounded.
 */
export class Admission {
  private running = 0;
  private queuedUnits = 0;
  private readonly waiting = new Fifo<Waiter>();
  /** Running mean of how long one call holds its turn, ms; 0 until the first release. */
  private serviceMs = 0;

  constructor(
    readonly method: string,
    readonly limit: MethodLimit,
    private readonly observer?: AdmissionObserver,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit.concurrency >= 1) || !(limit.queue >= 0)) throw new Error(`${method}: concurrency must be >= 1 and queue >= 0`);
  }

  /**
   * Resolves with `release` once the call may run (call it exactly once when done), or
   * rejects with OverloadedError / DeadlineExceededError / the signal's reason without
   * running. A cost above the concurrency is taken as the whole concurrency, so the
   * largest allowed request still runs, alone.
   */
  acquire(signal: AbortSignal, deadlineMs: number | undefined, cost = 1): Promise<() => void> {
    const units = Math.min(Number.isFinite(cost) ? Math.max(1, Math.ceil(cost)) : 1, this.limit.concurrency);
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.waiting.size === 0 && this.running + units <= this.limit.concurrency) {
      this.running += units;
      this.report();
      return Promise.resolve(this.releaser(units));
    }
    if (this.queuedUnits + units > this.limit.queue) {
      this.observer?.shed(this.method, 'queue_full');
      return Promise.reject(
        new OverloadedError(this.method, 'queue_full', this.expectedWaitMs(this.queuedUnits), `${this.running} running, ${this.queuedUnits} waiting`),
      );
    }
    const wait = this.expectedWaitMs(this.queuedUnits + units);
    if (deadlineMs !== undefined && wait > (deadlineMs - this.now()) * DEADLINE_SHARE) {
      this.observer?.shed(this.method, 'would_miss_deadline');
      return Promise.reject(
        new OverloadedError(this.method, 'would_miss_deadline', wait, `its turn is ~${wait} ms away, too close to the call's deadline`),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        cost: units,
        resolve,
        reject,
        settled: false,
        detach: () => signal.removeEventListener('abort', onAbort),
      };
      const onAbort = () => {
        if (waiter.settled) return;
        waiter.settled = true;
        this.queuedUnits -= units;
        const expired = signal.reason instanceof DeadlineExceededError;
        this.observer?.shed(this.method, expired ? 'expired_in_queue' : 'cancelled_in_queue');
        reject(expired ? new DeadlineExceededError('deadline passed while waiting for a turn; the call was not started') : signal.reason);
        // Its place may have been what blocked the head: let the next one in.
        this.drain();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.queuedUnits += units;
      this.report();
    });
  }

  /** Units running now and waiting now (for tests and the gauges). */
  get state(): { running: number; queued: number } {
    return { running: this.running, queued: this.queuedUnits };
  }

  /** Milliseconds until `units` waiting units would all have started, at the recent service time. */
  private expectedWaitMs(units: number): number {
    const service = this.serviceMs > 0 ? this.serviceMs : 1;
    return Math.ceil((units / this.limit.concurrency) * service);
  }

  private releaser(units: number): () => void {
    const started = this.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = this.now() - started;
      this.serviceMs = this.serviceMs === 0 ? held : this.serviceMs + EWMA * (held - this.serviceMs);
      this.running -= units;
      this.drain();
    };
  }

  private drain(): void {
    for (let head = this.waiting.peek(); head; head = this.waiting.peek()) {
      if (head.settled) {
        this.waiting.shift();
        continue;
      }
      if (this.running + head.cost > this.limit.concurrency) break;
      this.waiting.shift();
      head.settled = true;
      head.detach();
      this.queuedUnits -= head.cost;
      this.running += head.cost;
      head.resolve(this.releaser(head.cost));
    }
    this.report();
  }

  private report(): void {
    this.observer?.load(this.method, this.running, this.queuedUnits);
  }
}
