import { Fifo, OverloadedError } from '@ralm/platform';

interface Waiting {
  eu: Float32Array;
  signal?: AbortSignal;
  resolve(row: Float32Array): void;
  reject(err: unknown): void;
}

/** What the batcher may know of the call a user comes from. */
export interface BatchCall {
  /** Aborted when the caller left: the user is then dropped from its product. */
  readonly signal?: AbortSignal;
  /** The caller's deadline, unix ms: a wait that would not fit it is refused. */
  readonly deadlineMs?: number;
  /** `Service/Method`, named in a refusal. */
  readonly method?: string;
}

export interface BatcherOptions {
  /** How long the first call of a product waits for others; 0 = only calls of the same event-loop turn. */
  windowMs: number;
  /** Most users in one product. */
  maxUsers: number;
  /** Share of a call's remaining time its expected wait may take (admission's DEADLINE_SHARE). */
  deadlineShare: number;
  /** Unix ms, for deadlines. */
  now?: () => number;
  /** Monotonic ms, for what a product cost. */
  clock?: () => number;
}

/** Weight of the running mean of a product's cost: about the last 5 products, so it follows a load that changes. */
const EWMA = 0.2;

/**
 * Turns concurrent single-user scoring calls into matrix–matrix products: calls
 * arriving within `windowMs` of the first (or until a product's worth are waiting)
 * are stacked into one B × h block and scored in one kernel call. It knows what a
 * user costs, so it also knows how long a newcomer would wait: a call whose wait
 * would eat more than its share of the deadline is refused at once (RESOURCE_EXHAUSTED),
 * and a call whose caller left before its product ran is dropped from it.
 */
export class ScoreBatcher {
  private readonly pending = new Fifo<Waiting>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Whether `timer` is a setImmediate (a full product waits for nothing but I/O). */
  private immediate = false;
  /**
   * Running mean of what one product costs, ms; 0 until the first product. While a
   * backlog waits it is measured from one product's start to the next, so it counts
   * what the loop did in between (reading requests, writing replies, refusing calls):
   * under overload that is what a newcomer really waits, and the kernel's time alone
   * would admit calls that then miss their deadline. A caller's scores come when its
   * whole product is done, so a wait counts whole products, its own included.
   */
  private productMs = 0;
  /** When the previous product started, if it left a backlog behind it. */
  private backlogged: { startedAt: number } | undefined;
  private readonly now: () => number;
  private readonly clock: () => number;
  /** Products run and users scored, for the batch-size metric. */
  onBatch?: (users: number) => void;
  /** A call of `method` refused because its wait would not fit its deadline. */
  onShed?: (method: string) => void;

  constructor(
    /** Scores `users` stacked look-alike embeddings; returns users × count scores. */
    private readonly run: (eu: Float32Array, users: number) => { scores: Float32Array; count: number },
    private readonly h: number,
    private readonly options: BatcherOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Milliseconds until a call queued now would have its scores, at the measured cost. */
  expectedWaitMs(): number {
    return Math.ceil(Math.ceil((this.pending.size + 1) / this.options.maxUsers) * this.productMs);
  }

  /**
   * Scores of one user against every slot of the table at the time the product runs.
   * A user whose `signal` aborted before then (its caller left) is dropped from the
   * product: under overload that work would be for nobody.
   */
  score(eu: Float32Array, call: BatchCall = {}): Promise<Float32Array> {
    const { signal, deadlineMs, method = 'score' } = call;
    if (deadlineMs !== undefined && this.productMs > 0) {
      const wait = this.expectedWaitMs();
      if (wait > (deadlineMs - this.now()) * this.options.deadlineShare) {
        this.onShed?.(method);
        return Promise.reject(
          new OverloadedError(method, 'would_miss_deadline', wait, `${this.pending.size} users ahead, ~${wait} ms of scoring, too close to the call's deadline`),
        );
      }
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ eu, signal, resolve, reject });
      // Never run in the caller's turn, even with a full product: each call resolves in a
      // microtask that can admit the next, so a synchronous run would chain product after
      // product without yielding, and no reply is written, no request read and no
      // deadline timer fired until the whole backlog is done.
      this.schedule(this.pending.size >= this.options.maxUsers ? 0 : this.options.windowMs);
    });
  }

  private schedule(windowMs: number): void {
    if (this.timer && (windowMs > 0 || this.immediate)) return;
    if (this.timer) clearTimeout(this.timer as NodeJS.Timeout);
    this.immediate = windowMs === 0;
    this.timer = windowMs > 0 ? setTimeout(() => this.flush(), windowMs) : setImmediate(() => this.flush());
  }

  /** Runs one product, then lets I/O in before the next. */
  private flush(): void {
    this.timer = undefined;
    const taken: Waiting[] = [];
    while (taken.length < this.options.maxUsers && this.pending.size > 0) {
      const p = this.pending.shift()!;
      if (p.signal?.aborted) p.reject(p.signal.reason);
      else taken.push(p);
    }
    if (this.pending.size > 0) this.schedule(this.pending.size >= this.options.maxUsers ? 0 : this.options.windowMs);
    if (taken.length === 0) return;
    const h = this.h;
    const stacked = new Float32Array(taken.length * h);
    taken.forEach((p, i) => stacked.set(p.eu, i * h));
    try {
      const started = this.clock();
      const previous = this.backlogged;
      const { scores, count } = this.run(stacked, taken.length);
      const sample = previous ? started - previous.startedAt : this.clock() - started;
      this.productMs = this.productMs === 0 ? sample : this.productMs + EWMA * (sample - this.productMs);
      this.backlogged = this.pending.size > 0 ? { startedAt: started } : undefined;
      this.onBatch?.(taken.length);
      taken.forEach((p, i) => p.resolve(scores.subarray(i * count, (i + 1) * count)));
    } catch (err) {
      for (const p of taken) p.reject(err);
    }
  }
}
