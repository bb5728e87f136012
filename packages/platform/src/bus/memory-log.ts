import { Fifo } from '../collections/fifo';
/** Storage for the in-memory bus: the ordered message log and the msgId duplicate window. */

export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Unix ms of the append. */
  readonly publishedAtMs: number;
}

/** One ordered log per bus, sequence numbers 1, 2, 3…; keeps at most `maxMessages`, dropping the oldest. */
export class MessageLog {
  private items: StoredMessage[] = [];
  private head = 0;
  private nextSeq = 1;
  /**
   * Highest sequence consumers may see. Without a journal every append is
   * committed at once; with one, only once it is on disk, so no consumer can act
   * on a message a crash would take back (and whose sequence would then be reused).
   */
  committedSeq = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly commitOnAppend = true,
  ) {}

  /** Loads messages recovered from a journal (consecutive sequences, oldest first) into an empty log. */
  restore(messages: StoredMessage[]): void {
    if (messages.length === 0) return;
    this.nextSeq = messages[0]!.seq;
    for (const m of messages) {
      if (m.seq !== this.nextSeq) throw new Error(`bus journal: sequence ${m.seq} follows ${this.nextSeq - 1}`);
      this.items.push(m);
      this.nextSeq++;
      if (this.items.length - this.head > this.maxMessages) this.dropOldest();
    }
    this.committedSeq = this.lastSeq;
  }

  /** Messages still kept, oldest first (for journal compaction). */
  kept(): StoredMessage[] {
    return this.items.slice(this.head);
  }

  /** Sequence of the oldest message still kept (equals `lastSeq + 1` when empty). */
  get firstSeq(): number {
    return this.nextSeq - (this.items.length - this.head);
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  append(subject: string, data: Uint8Array, headers: Readonly<Record<string, string>>, publishedAtMs: number): StoredMessage {
    const message: StoredMessage = { seq: this.nextSeq++, subject, data, headers, publishedAtMs };
    this.items.push(message);
    if (this.commitOnAppend) this.committedSeq = message.seq;
    if (this.items.length - this.head > this.maxMessages) this.dropOldest();
    return message;
  }

  /**
   * Drops the uncommitted messages from `seq` on, so their sequence numbers are handed
   * out again: a journal refused them, and a sequence that skipped them would leave a
   * gap that a restart reads as damage.
   */
  forgetFrom(seq: number): void {
    if (seq <= this.committedSeq) throw new Error(`message log: cannot forget committed sequence ${seq} (committed ${this.committedSeq})`);
    if (seq > this.lastSeq) return;
    const keep = this.items.length - (this.lastSeq - seq + 1);
    this.items.length = Math.max(this.head, keep);
    this.nextSeq = seq;
  }

  get(seq: number): StoredMessage | undefined {
    return seq < this.firstSeq ? undefined : this.items[this.head + seq - this.firstSeq];
  }

  /**
   * Sequence of the first kept message stored at or after `ms` (`lastSeq + 1` when none).
   * Binary search: messages are appended in the order of their store times.
   */
  seqAtOrAfter(ms: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.publishedAtMs < ms) lo = mid + 1;
      else hi = mid;
    }
    return this.firstSeq + (lo - this.head);
  }

  /** First kept message on `subject` with sequence >= `fromSeq`. */
  next(subject: string, fromSeq: number): StoredMessage | undefined {
    for (let seq = Math.max(fromSeq, this.firstSeq); seq <= this.committedSeq; seq++) {
      const message = this.get(seq)!;
      if (message.subject === subject) return message;
    }
    return undefined;
  }

  private dropOldest(): void {
    this.items[this.head++] = undefined as unknown as StoredMessage;
    // Compact now and then rather than shift() per message, which is O(n).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** Remembers msgIds for `windowMs` (and at most `maxIds` of them) to drop duplicate publishes. */
export class DuplicateWindow {
  private readonly expiries = new Map<string, number>();
  // Insertion order equals expiry order because the window is fixed; an entry whose id was
  // evicted (or expired and seen again) no longer matches the Map and is skipped.
  private readonly order = new Fifo<{ id: string; expiresAt: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxIds: number,
  ) {}

  /** True when `id` was seen inside the window; otherwise records it and returns false. */
  seen(id: string, now: number): boolean {
    this.expire(now);
    if (this.expiries.has(id)) return true;
    const expiresAt = now + this.windowMs;
    this.expiries.set(id, expiresAt);
    this.order.push({ id, expiresAt });
    while (this.expiries.size > this.maxIds) this.dropOldest();
    return false;
  }

  /** Forgets `id`: its publish was refused, and a retry must not be taken for a duplicate. */
  forget(id: string): void {
    this.expiries.delete(id);
  }

  private dropOldest(): void {
    for (let entry = this.order.shift(); entry; entry = this.order.shift()) {
      if (this.expiries.get(entry.id) === entry.expiresAt) {
        this.expiries.delete(entry.id);
        return;
      }
    }
  }

  private expire(now: number): void {
    for (let entry = this.order.peek(); entry && entry.expiresAt <= now; entry = this.order.peek()) {
      this.order.shift();
      if (this.expiries.get(entry.id) === entry.expiresAt) this.expiries.delete(entry.id);
    }
  }
}
