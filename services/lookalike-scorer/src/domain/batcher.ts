/**
 * Turns concurrent single-user scoring calls into one matrix–matrix product:
 * calls arriving within `windowMs` of the first (or until `maxUsers` are
 * waiting) are stacked into one B × h block and scored in one kernel call.
 * With windowMs = 0 only calls that arrive in the same event-loop turn share a batch.
 */
export class ScoreBatcher {
  private pending: Array<{ eu: Float32Array; signal?: AbortSignal; resolve(row: Float32Array): void; reject(err: unknown): void }> = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Batches run and users scored, for the batch-size metric. */
  onBatch?: (users: number) => void;

  constructor(
    /** Scores `users` stacked look-alike embeddings; returns users × count scores. */
    private readonly run: (eu: Float32Array, users: number) => { scores: Float32Array; count: number },
    private readonly h: number,
    private readonly windowMs: number,
    private readonly maxUsers: number,
  ) {}

  /**
   * Scores of one user against every slot of the table at the time the batch runs.
   * A user whose `signal` aborted before then (its caller left) is dropped from the
   * product: under overload that work would be for nobody.
   */
  score(eu: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ eu, signal, resolve, reject });
      if (this.pending.length >= this.maxUsers) this.flush();
      else if (!this.timer) this.timer = this.windowMs > 0 ? setTimeout(() => this.flush(), this.windowMs) : setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    const batch = this.pending.filter((p) => !p.signal?.aborted);
    for (const p of this.pending) if (p.signal?.aborted) p.reject(p.signal.reason);
    this.pending = [];
    if (batch.length === 0) return;
    const h = this.h;
    const stacked = new Float32Array(batch.length * h);
    batch.forEach((p, i) => stacked.set(p.eu, i * h));
    try {
      const { scores, count } = this.run(stacked, batch.length);
      this.onBatch?.(batch.length);
      batch.forEach((p, i) => p.resolve(scores.subarray(i * count, (i + 1) * count)));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
