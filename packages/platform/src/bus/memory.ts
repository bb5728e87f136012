/**
 * The in-memory event bus: the embedded default when one process runs every
 * service. It mirrors the JetStream semantics the port promises (one ordered
 * log, msgId dedupe window, durable cursors, ack/nak/ack-wait redelivery,
 * max ack pending, max deliver and terminate, and the deletion of a durable
 * left without subscriptions past its inactivity threshold) so code tested
 * against it behaves the same on NATS.
 */
import { randomUUID } from 'node:crypto';
import { NoResponderError, UnavailableError } from '../errors';
import { BusJournal } from './journal';
import { DuplicateWindow, MessageLog, type StoredMessage } from './memory-log';
import type { BusSubscription, Delivery, DropReason, EventBus, Handler, PublishAck, PublishOptions, Responder, Subject, SubscribeOptions } from './port';
import {
  BusClosedError,
  DEFAULT_ACK_WAIT_SECONDS,
  DEFAULT_DUPLICATE_WINDOW_SECONDS,
  DEFAULT_MAX_ACK_PENDING,
  DEFAULT_MAX_DELIVER,
  DEFAULT_REDELIVERY_DELAY_MS,
  errorFields,
  inactiveAfterMs,
  positive,
  redeliveryDelay,
  reportDropped,
  requireDurable,
  requireStartSeq,
  requireStartTime,
  silentLogger,
  type BusLogger,
  requireRpcSubject,
} from './shared';
import { injectTraceContext, MSG_ID_HEADER, withConsumerSpan } from './tracing';

export interface MemoryBusOptions {
  /**
   * Most messages the log keeps, across all subjects; past it the oldest are
   * dropped (JetStream `max_msgs` with discard old). A durable that has not
   * reached a dropped message skips it, and a dropped message that was awaiting
   * redelivery is forgotten. Default 100 000, or 1 000 000 with a journal.
   */
  maxMessages?: number;
  /** Seconds a msgId is remembered to drop duplicate publishes. Default 120. */
  duplicateWindowSeconds?: number;
  /** Most msgIds remembered at once, bounding memory under a publish burst; the oldest go first. Default 100 000. */
  maxDuplicateIds?: number;
  /** Back-off after a handler throws, in ms, doubling per delivery up to 30 s. Default 1000. */
  redeliveryDelayMs?: number;
  logger?: BusLogger;
  /** Clock, unix ms, for the append time (`Delivery.publishedAtMs`) and the duplicate window. Default `Date.now`. */
  now?: () => number;
}

/** Creates an empty in-memory bus. Nothing is persisted: durables live as long as the bus. */
export function createMemoryBus(options: MemoryBusOptions = {}): EventBus {
  return new MemoryBus(options);
}

/**
 * The embedded bus with a journal in `journalDir`: a publish resolves once the
 * message is on disk, and a new process reopening the same directory gets the
 * same stream back (same `streamId`, same sequences). Durable cursors are not
 * journaled: after a restart a consumer starts per its `deliverPolicy` or
 * `startSeq`, so consumers must be idempotent, as the port already requires.
 */
export async function openMemoryBus(options: MemoryBusOptions & { journalDir: string }): Promise<EventBus> {
  let bus: MemoryBus | undefined;
  const { journal, messages } = await BusJournal.open(
    options.journalDir,
    { durable: (seq) => bus!.committed(seq), refused: (seq) => bus!.refused(seq) },
    options.logger ?? silentLogger,
  );
  bus = new MemoryBus(options, { journal, messages });
  (options.logger ?? silentLogger).info({ journalDir: options.journalDir, messages: messages.length, streamId: journal.streamId }, 'embedded bus journal opened');
  return bus;
}

interface Settings {
  redeliveryDelayMs: number;
  logger: BusLogger;
}

class MemoryBus implements EventBus {
  readonly kind = 'memory' as const;
  readonly streamId: string;
  private readonly journal: BusJournal | undefined;
  private compacting = false;
  private readonly log: MessageLog;
  private readonly duplicates: DuplicateWindow;
  private readonly settings: Settings;
  private readonly now: () => number;
  /** subject name -> durable name -> consumer state. */
  private readonly durables = new Map<string, Map<string, Durable>>();
  private closed = false;

  constructor(options: MemoryBusOptions, restored?: { journal: BusJournal; messages: StoredMessage[] }) {
    // A journaled bus is what embedded deployments run on: keep enough for consumers that
    // replay from a snapshot (the seed collector snapshots every 30 s) at high click rates.
    this.log = new MessageLog(positive(options.maxMessages, restored ? 1_000_000 : 100_000), restored === undefined);
    this.journal = restored?.journal;
    this.streamId = restored?.journal.streamId ?? `memory:${randomUUID()}`;
    if (restored) this.log.restore(restored.messages);
    this.duplicates = new DuplicateWindow(
      positive(options.duplicateWindowSeconds, DEFAULT_DUPLICATE_WINDOW_SECONDS) * 1000,
      positive(options.maxDuplicateIds, 100_000),
    );
    this.now = options.now ?? Date.now;
    this.settings = {
      redeliveryDelayMs: positive(options.redeliveryDelayMs, DEFAULT_REDELIVERY_DELAY_MS),
      logger: options.logger ?? silentLogger,
    };
  }

  async publish<T>(subject: Subject<T>, message: T, options: PublishOptions = {}): Promise<PublishAck> {
    if (this.closed) throw new BusClosedError(this.kind);
    const data = subject.encode(message);
    const now = this.now();
    if (options.msgId !== undefined && this.duplicates.seen(options.msgId, now)) return { duplicate: true };
    const headers: Record<string, string> = {};
    injectTraceContext(headers);
    if (options.msgId !== undefined) headers[MSG_ID_HEADER] = options.msgId;
    const stored = this.log.append(subject.name, data, Object.freeze(headers), now);
    if (this.journal) {
      try {
        await this.journal.append(stored); // committed (and pumped) by the journal's flush
      } catch (err) {
        if (options.msgId !== undefined) this.duplicates.forget(options.msgId);
        throw new UnavailableError(`embedded bus: journal write failed: ${(err as Error).message}`, { cause: err });
      }
      this.maybeCompact();
    } else {
      this.pumpSubject(subject.name);
    }
    return { duplicate: false };
  }

  async subscribe<T>(subject: Subject<T>, handler: Handler<T>, options: SubscribeOptions): Promise<BusSubscription> {
    if (this.closed) throw new BusClosedError(this.kind);
    requireDurable(options.durable);
    let bySubject = this.durables.get(subject.name);
    if (!bySubject) this.durables.set(subject.name, (bySubject = new Map()));
    let durable = bySubject.get(options.durable);
    if (options.startSeq !== undefined) requireStartSeq(options.startSeq);
    if (options.startTimeMs !== undefined) requireStartTime(options.startTimeMs);
    const start = options.startSeq ?? (options.startTimeMs !== undefined ? this.log.seqAtOrAfter(options.startTimeMs) : undefined);
    if (start !== undefined) {
      await durable?.close();
      durable = undefined;
    }
    if (!durable) {
      const cursor = start ?? (options.deliverPolicy === 'new' ? this.log.lastSeq + 1 : 1);
      const created: Durable = new Durable(subject.name, options.durable, cursor, this.log, this.settings, () => {
        if (bySubject.get(options.durable) === created) bySubject.delete(options.durable);
      });
      durable = created;
      bySubject.set(options.durable, durable);
    }
    // Like a JetStream consumer update: the latest subscribe sets the editable limits.
    durable.ackWaitMs = positive(options.ackWaitSeconds, DEFAULT_ACK_WAIT_SECONDS) * 1000;
    durable.maxAckPending = positive(options.maxAckPending, DEFAULT_MAX_ACK_PENDING);
    durable.maxDeliver = positive(options.maxDeliver, DEFAULT_MAX_DELIVER);
    durable.inactiveAfterMs = inactiveAfterMs(options);
    return durable.attach(new MemorySubscription((data) => subject.decode(data), handler as Handler<unknown>, options.onDropped));
  }

  /** The journal made messages up to `seq` durable: consumers may see them now. */
  committed(seq: number): void {
    if (seq <= this.log.committedSeq) return;
    const from = this.log.committedSeq + 1;
    this.log.committedSeq = seq;
    const subjects = new Set<string>();
    for (let s = from; s <= seq; s++) {
      const m = this.log.get(s);
      if (m) subjects.add(m.subject);
    }
    for (const subject of subjects) this.pumpSubject(subject);
  }

  /** The journal refused messages from `seq` on: they were never committed, so no consumer saw them. */
  refused(seq: number): void {
    this.log.forgetFrom(seq);
  }

  private pumpSubject(subject: string): void {
    for (const durable of this.durables.get(subject)?.values() ?? []) durable.schedulePump();
  }

  /** The journal keeps what retention dropped until rewritten; rewrite once it holds twice the log. */
  private maybeCompact(): void {
    const journal = this.journal!;
    if (this.compacting || journal.recordCount < Math.max(10_000, 2 * (this.log.lastSeq - this.log.firstSeq + 1))) return;
    this.compacting = true;
    journal
      .compact(() => this.log.kept().filter((m) => m.seq <= this.log.committedSeq))
      .catch((err: unknown) => this.settings.logger.warn(errorFields(err), 'bus journal compaction failed; retried later'))
      .finally(() => (this.compacting = false));
  }

  private readonly responders = new Map<string, Responder[]>();
  private nextResponder = 0;

  async serve(subject: string, responder: Responder, _options: { queue: string }): Promise<BusSubscription> {
    requireRpcSubject(subject);
    const list = this.responders.get(subject) ?? [];
    list.push(responder);
    this.responders.set(subject, list);
    return {
      stop: async () => {
        const at = list.indexOf(responder);
        if (at >= 0) list.splice(at, 1);
      },
      pending: async () => 0,
    };
  }

  async request(subject: string, payload: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array> {
    requireRpcSubject(subject);
    if (this.closed) throw new UnavailableError('memory bus is closed');
    const list = this.responders.get(subject) ?? [];
    const responder = list[this.nextResponder++ % Math.max(1, list.length)];
    if (!responder) throw new NoResponderError(subject);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnavailableError(`no answer on ${subject} within ${options.timeoutMs} ms`)), options.timeoutMs);
    });
    try {
      // A copy, as a network hop would make: the responder cannot share the caller's buffer.
      return await Promise.race([responder(payload.slice()), timeout]);
    } catch (err) {
      throw err instanceof UnavailableError ? err : new UnavailableError(`${subject}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async lastSeq(): Promise<number> {
    if (this.closed) throw new BusClosedError(this.kind);
    return this.log.committedSeq;
  }

  /** Down as well while the journal's disk is full: a publish would be refused. */
  isConnected(): boolean {
    return !this.closed && (this.journal?.writable ?? true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.durables.values()].flatMap((bySubject) => [...bySubject.values()]);
    await Promise.all(all.map((durable) => durable.close()));
    await this.journal?.close();
  }
}

/** Per-message consumer state, from first delivery until acknowledged. */
interface Unacked {
  deliveryCount: number;
  /** `inflight`: a handler runs; `backoff`: waits to be `due`; `due`: queued for redelivery. */
  state: 'inflight' | 'backoff' | 'due';
  timer?: NodeJS.Timeout;
}

type Decode = (data: Uint8Array) => unknown;

/** A durable consumer: a cursor over one subject plus its delivered-but-unacknowledged messages. */
class Durable {
  ackWaitMs = DEFAULT_ACK_WAIT_SECONDS * 1000;
  maxAckPending = DEFAULT_MAX_ACK_PENDING;
  maxDeliver = DEFAULT_MAX_DELIVER;
  /** Ms without a subscription after which the durable deletes itself; 0 keeps it. */
  inactiveAfterMs = 0;
  private inactiveTimer: NodeJS.Timeout | undefined;
  /** Next stream sequence never delivered to this durable. */
  private cursor: number;
  private readonly unacked = new Map<number, Unacked>();
  /** Sequences due for redelivery, served before new messages. */
  private ready: number[] = [];
  private readonly subscriptions: MemorySubscription[] = [];
  private roundRobin = 0;
  private pumpScheduled = false;

  constructor(
    private readonly subject: string,
    private readonly name: string,
    cursor: number,
    private readonly log: MessageLog,
    private readonly settings: Settings,
    /** Removes this durable from the bus, so the next subscribe under its name starts afresh. */
    private readonly remove: () => void,
  ) {
    this.cursor = cursor;
  }

  attach(subscription: MemorySubscription): BusSubscription {
    clearTimeout(this.inactiveTimer);
    this.subscriptions.push(subscription);
    this.schedulePump();
    return {
      stop: async () => {
        const i = this.subscriptions.indexOf(subscription);
        if (i >= 0) this.subscriptions.splice(i, 1);
        await subscription.drain();
        this.expireWhenInactive();
      },
      pending: async () => this.pending(),
    };
  }

  /** Committed messages of the subject at or past the cursor, plus the unacknowledged. */
  pending(): number {
    let count = this.unacked.size;
    for (let m = this.log.next(this.subject, this.cursor); m && m.seq <= this.log.committedSeq; m = this.log.next(this.subject, m.seq + 1)) count++;
    return count;
  }

  /** Stops every subscription and forgets pending timers: the bus is going away. */
  async close(): Promise<void> {
    clearTimeout(this.inactiveTimer);
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((s) => s.drain()));
    this.forgetTimers();
  }

  /**
   * Starts the inactivity clock once the last subscription is gone. Only the
   * last subscribe's threshold counts, as on a JetStream consumer; a subscribe
   * before it runs out stops the clock.
   */
  private expireWhenInactive(): void {
    if (this.subscriptions.length > 0 || this.inactiveAfterMs <= 0) return;
    clearTimeout(this.inactiveTimer);
    this.inactiveTimer = unref(setTimeout(() => {
      if (this.subscriptions.length > 0) return;
      this.forgetTimers();
      this.remove();
    }, this.inactiveAfterMs));
  }

  private forgetTimers(): void {
    for (const entry of this.unacked.values()) clearTimeout(entry.timer);
  }

  /** Dispatch on a later turn of the event loop, so a handler never runs inside `publish`. */
  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    // Checked on every turn: a handler may stop the last subscription while this loop runs.
    while (this.subscriptions.length > 0 && this.ready.length > 0) {
      const seq = this.ready.shift()!;
      const entry = this.unacked.get(seq);
      if (entry?.state !== 'due') continue;
      const message = this.log.get(seq);
      if (message) this.deliver(message, entry);
      else this.unacked.delete(seq); // dropped by retention
    }
    // Unacked counts toward the limit until acknowledged, as in JetStream, whatever its state.
    while (this.subscriptions.length > 0 && this.unacked.size < this.maxAckPending) {
      const message = this.log.next(this.subject, this.cursor);
      if (!message) {
        this.cursor = this.log.committedSeq + 1;
        return;
      }
      this.cursor = message.seq + 1;
      const entry: Unacked = { deliveryCount: 0, state: 'inflight' };
      this.unacked.set(message.seq, entry);
      this.deliver(message, entry);
    }
  }

  private deliver(message: StoredMessage, entry: Unacked): void {
    const attempt = ++entry.deliveryCount;
    const subscription = this.subscriptions[this.roundRobin++ % this.subscriptions.length]!;
    const delivery: Delivery = {
      subject: message.subject,
      streamSeq: message.seq,
      deliveryCount: attempt,
      publishedAtMs: message.publishedAtMs,
      headers: message.headers,
    };
    let decoded: unknown;
    try {
      decoded = subscription.decode(message.data);
    } catch (err) {
      // No redelivery can fix the bytes; retrying would only hold a max-ack-pending slot.
      this.drop(message.seq, entry, 'undecodable', delivery, err, subscription);
      return;
    }
    entry.state = 'inflight';
    entry.timer = unref(setTimeout(() => {
      if (entry.state !== 'inflight' || entry.deliveryCount !== attempt) return;
      // Ack wait expired: redeliver even though the first handler may still finish (at-least-once).
      if (attempt < this.maxDeliver) this.markDue(message.seq, entry);
      else this.drop(message.seq, entry, 'max_deliver', delivery, new Error('ack wait expired'), subscription);
    }, this.ackWaitMs));
    subscription.run(decoded, delivery, this.name).then(
      () => this.ack(message.seq, entry),
      (err: unknown) => this.nak(entry, delivery, err, subscription),
    );
  }

  private ack(seq: number, entry: Unacked): void {
    // Any attempt's ack settles the message, as a late JetStream ack does.
    if (this.unacked.get(seq) !== entry) return;
    clearTimeout(entry.timer);
    this.unacked.delete(seq);
    this.schedulePump();
  }

  private nak(entry: Unacked, delivery: Delivery, err: unknown, subscription: MemorySubscription): void {
    const { streamSeq: seq, deliveryCount: attempt } = delivery;
    // False for an attempt overtaken by an ack-wait redelivery (or settled since): only its failure is logged.
    const current = this.unacked.get(seq) === entry && entry.deliveryCount === attempt && entry.state === 'inflight';
    if (current && attempt >= this.maxDeliver) {
      this.drop(seq, entry, 'max_deliver', delivery, err, subscription);
      return;
    }
    const fields = { subject: this.subject, durable: this.name, streamSeq: seq, deliveryCount: attempt, ...errorFields(err) };
    this.settings.logger.warn(fields, 'bus handler failed; will redeliver');
    if (!current) return;
    clearTimeout(entry.timer);
    entry.state = 'backoff';
    entry.timer = unref(setTimeout(() => this.markDue(seq, entry), redeliveryDelay(this.settings.redeliveryDelayMs, attempt)));
  }

  /** Terminates a message: never delivered again, like a JetStream `term`. */
  private drop(seq: number, entry: Unacked, reason: DropReason, delivery: Delivery, err: unknown, subscription: MemorySubscription): void {
    clearTimeout(entry.timer);
    if (this.unacked.get(seq) === entry) this.unacked.delete(seq);
    reportDropped(this.settings.logger, this.name, reason, delivery, err, subscription.onDropped);
    this.schedulePump();
  }

  private markDue(seq: number, entry: Unacked): void {
    entry.state = 'due';
    entry.timer = undefined;
    this.ready.push(seq);
    this.schedulePump();
  }
}

/** One `subscribe()` call: runs handlers and tracks them so `stop()` can wait. */
class MemorySubscription {
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    readonly decode: Decode,
    private readonly handler: Handler<unknown>,
    readonly onDropped: SubscribeOptions['onDropped'],
  ) {}

  run(message: unknown, delivery: Delivery, durable: string): Promise<void> {
    const done = withConsumerSpan({ system: 'memory', durable, delivery }, async () => {
      await this.handler(message, delivery);
    });
    const tracked = done.catch(() => undefined).finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
    return done;
  }

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
  }
}

function unref(timer: NodeJS.Timeout): NodeJS.Timeout {
  timer.unref();
  return timer;
}
