/**
 * The event bus port. Services publish and consume domain events through this
 * interface only; two adapters implement it: NATS JetStream (the mesh) and an
 * in-memory bus (the embedded default, one process).
 *
 * Delivery is at-least-once: a message is acknowledged only after its handler
 * resolves, so a handler must be idempotent (events carry an id for that).
 * Two kinds of message are given up on rather than retried forever, so one bad
 * message cannot stall a consumer: one that does not decode (terminated at
 * once) and one whose handler failed `maxDeliver` times. Both are logged at
 * error level and reported to `onDropped`. (On NATS a message whose last
 * delivery ran out its ack wait, rather than failing, is dropped by the server
 * itself, without that report.)
 */

/** A typed subject: its NATS name and the codec of the message it carries. */
export interface Subject<T> {
  /** `ralm.v1.<entity>.<event>`, e.g. `ralm.v1.click.recorded`. */
  readonly name: string;
  encode(message: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export interface PublishOptions {
  /**
   * Idempotency key. A second publish with the same id inside the bus's
   * duplicate window is dropped by the bus (JetStream `Nats-Msg-Id`).
   */
  msgId?: string;
}

/** The bus's answer to a publish, once the message is stored. */
export interface PublishAck {
  /** True when the bus dropped the message as a repeat of an earlier `msgId` (nothing was stored). */
  duplicate: boolean;
}

/** What a handler learns about the delivery besides the message itself. */
export interface Delivery {
  subject: string;
  /** Position of the message in the stream, 1-based, strictly increasing per stream. */
  streamSeq: number;
  /** How many times this message has been delivered to this consumer, 1 on first delivery. */
  deliveryCount: number;
  /**
   * Unix ms at which the bus stored the message (JetStream: the stream timestamp).
   * The same on every redelivery, so time checks against it do not depend on how far the consumer lags.
   */
  publishedAtMs: number;
  /** Headers the publisher attached (trace context among them). */
  headers: Readonly<Record<string, string>>;
}

export interface SubscribeOptions {
  /**
   * Durable consumer name. Two subscriptions with the same durable name share
   * one cursor: after a restart delivery resumes at the first unacknowledged
   * message, and messages that were delivered but not acknowledged come again.
   */
  durable: string;
  /** Where a durable that does not exist yet starts: every stored message (default) or only new ones. */
  deliverPolicy?: 'all' | 'new';
  /**
   * Replay from this stream sequence: the durable is repositioned here on
   * subscribe, forgetting its previous position and unacknowledged messages
   * (`deliverPolicy` is then ignored). For a consumer that keeps its own
   * applied position in a snapshot and must rebuild from it; only one process
   * may own such a durable.
   */
  startSeq?: number;
  /**
   * Replay from the first message stored at or after this unix ms, repositioning the
   * durable like `startSeq` (which wins when both are set). For a consumer whose state is
   * a function of a recent time window (the A/B sliding day) and is rebuilt at start.
   */
  startTimeMs?: number;
  /** Seconds the bus waits for an ack before redelivering. Default 30. */
  ackWaitSeconds?: number;
  /** Most messages delivered and not yet acknowledged at one time. Default 256. */
  maxAckPending?: number;
  /**
   * Deliveries after which a message whose handler keeps failing is terminated
   * (JetStream `max_deliver`). Default 20.
   */
  maxDeliver?: number;
  /**
   * Seconds a durable may go without any subscription before the bus deletes it
   * (JetStream `inactive_threshold`), for durables named per replica, whose pods
   * come and go and would otherwise pile up. A later subscribe under the name
   * then starts a fresh durable, per `deliverPolicy` or `startSeq`. While a
   * subscription is live the durable is kept; should the bus delete it anyway
   * (NATS: the client was cut off from the server for this long), the
   * subscription re-creates it, as a fresh durable, and goes on delivering.
   * Editable: the latest subscribe sets it, and leaving it unset keeps the
   * durable again. Unset or 0: kept forever (a durable with one owner).
   */
  inactiveAfterSeconds?: number;
  /** Told about every message the bus gives up on, e.g. to count them; must not throw. */
  onDropped?: (reason: DropReason, delivery: Delivery) => void;
}

/**
 * Why a message was given up on: its bytes do not decode as the subject's
 * message, or its handler failed `maxDeliver` times.
 */
export type DropReason = 'undecodable' | 'max_deliver';

/**
 * Called once per delivery. Resolve to acknowledge. Throw to have the message
 * redelivered later (negative acknowledgement with a back-off), up to `maxDeliver` deliveries.
 */
/** Turns a request's bytes into the answer's (bus.serve). */
export type Responder = (request: Uint8Array) => Promise<Uint8Array>;

export type Handler<T> = (message: T, delivery: Delivery) => Promise<void>;

export interface BusSubscription {
  /** Stops delivering; in-flight handlers finish (and ack) before this resolves. Unacked messages stay with the durable. */
  stop(): Promise<void>;
  /**
   * Messages of this subscription's durable not yet acknowledged: stored and not
   * delivered, plus delivered and not acknowledged. 0 = caught up with the stream
   * (e.g. a replay from the start has been applied), which readiness checks need.
   */
  pending(): Promise<number>;
}

export interface EventBus {
  /** `memory` or `nats`: reported in logs and `ralm status`. */
  readonly kind: 'memory' | 'nats';
  /**
   * Identifies the stream whose sequence numbers `Delivery.streamSeq` counts. A
   * position (`startSeq`) saved under another id means nothing here: the memory
   * bus starts a new stream per process, and a NATS stream deleted and re-created
   * starts counting again.
   */
  readonly streamId: string;
  /**
   * Resolves once the bus has stored the message durably (JetStream: the PubAck).
   * Rejects with UnavailableError when the bus cannot be reached (closed, disconnected, timed out).
   */
  publish<T>(subject: Subject<T>, message: T, options?: PublishOptions): Promise<PublishAck>;
  /** Rejects with UnavailableError when the bus cannot be reached. */
  subscribe<T>(subject: Subject<T>, handler: Handler<T>, options: SubscribeOptions): Promise<BusSubscription>;
  /**
   * Answers requests on `subject`, outside the stream (nothing is stored): the way one
   * replica asks the owner of a partition. Members of one `queue` share the requests,
   * each reaching one of them. A responder that throws answers with an error the
   * requester sees as UnavailableError carrying the message.
   */
  serve(subject: string, responder: Responder, options: { queue: string }): Promise<BusSubscription>;
  /**
   * One request to whoever serves `subject`: UnavailableError when no one does or no
   * answer came within `timeoutMs`.
   */
  request(subject: string, payload: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array>;
  /**
   * The stream's last stored sequence (0 when empty). A consumer whose saved position
   * is beyond it is looking at a stream that lost its tail (restored from an older
   * backup, a journal cut back): its position must come back to this, or the next
   * messages, numbered from here, would pass for ones it already applied.
   */
  lastSeq(): Promise<number>;
  /** True while the bus can accept publishes (drives health). */
  isConnected(): boolean;
  /** Stops every subscription, then drains and closes the connection. */
  close(): Promise<void>;
}
