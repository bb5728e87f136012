/**
 * The NATS JetStream event bus: one stream (default `RALM`, subjects `ralm.v1.>`)
 * and one durable pull consumer per (durable, subject) pair. Works with
 * nats-server 2.9+ (single filter subject, the 2.9 consumer-create API).
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
// nats-core is transport-node's own dependency (same version); its types are not
// re-exported under `moduleResolution: node10`, so import them from the source.
import {
  headers as natsHeaders,
  nanos,
  NoRespondersError,
  RequestError,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { natsConnectOptions, type NatsAuth } from '../security/nats-auth';
import { setTimeout as sleep } from 'node:timers/promises';
import { NoResponderError, UnavailableError } from '../errors';
import { asUnavailable } from '../nats-errors';
import type { BusSubscription, Delivery, EventBus, Handler, PublishAck, PublishOptions, Responder, Subject, SubscribeOptions } from './port';
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
import { injectTraceContext, withConsumerSpan } from './tracing';

/** The JetStream stream the bus ensures at connect (created, or updated when its editable settings differ). */
export interface NatsStreamOptions {
  /** Stream name. Default `RALM`. */
  name?: string;
  /** Subjects the stream captures. Default `['ralm.v1.>']`. */
  subjects?: string[];
  /** Seconds a message is kept (`max_age`); 0 keeps forever. Default 604 800 (7 days). */
  maxAgeSeconds?: number;
  /** Seconds a `msgId` is remembered for dedupe (`duplicate_window`). Default 120. */
  duplicateWindowSeconds?: number;
  /** Where the server stores messages; fixed once the stream exists. Default `file`. */
  storage?: 'file' | 'memory';
  /** Stream replicas in a cluster, 1–5. Default 1. */
  replicas?: number;
}

export interface NatsBusOptions {
  /** `nats://host:port` URL(s) of the server or cluster; credentials in a URL are used (natsConnectOptions). */
  servers: string | string[];
  /** Login and TLS (security/nats-auth.ts). */
  auth?: NatsAuth;
  /** Connection name shown by the server (use the service name). */
  name: string;
  stream?: NatsStreamOptions;
  logger?: BusLogger;
  /** Back-off after a handler throws, in ms, doubling per delivery up to 30 s. Default 1000. */
  redeliveryDelayMs?: number;
  /** Milliseconds between reconnect attempts to one server. Default 2000. */
  reconnectTimeWaitMs?: number;
  /** Milliseconds a publish waits for its PubAck (and a JetStream API call for its answer) before failing UNAVAILABLE. Default 5000. */
  requestTimeoutMs?: number;
}

/**
 * Connects, ensures the stream, and returns the bus. Rejects if the first
 * connection or the stream set-up fails; after that it reconnects forever.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<EventBus> {
  const logger = options.logger ?? silentLogger;
  const nc = await connect({
    ...natsConnectOptions(options.servers, options.auth),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 2000,
    // Otherwise every JetStream publish builds two Errors with stack traces for async
    // diagnostics (about a fifth of the CPU of a click publish in a profile).
    noAsyncTraces: true,
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: positive(options.requestTimeoutMs, 5000) });
    const streamName = await ensureStream(jsm, options.stream ?? {});
    const streamId = `nats:${streamName}@${(await jsm.streams.info(streamName)).created}`;
    logger.info({ server: nc.getServer(), stream: streamName }, 'nats bus connected');
    return new NatsBus(nc, jsm, streamName, streamId, positive(options.redeliveryDelayMs, DEFAULT_REDELIVERY_DELAY_MS), logger);
  } catch (err) {
    await nc.close();
    throw err;
  }
}

async function ensureStream(jsm: JetStreamManager, options: NatsStreamOptions): Promise<string> {
  const name = options.name ?? 'RALM';
  const wanted = {
    subjects: options.subjects ?? ['ralm.v1.>'],
    max_age: nanos((options.maxAgeSeconds ?? 7 * 24 * 3600) * 1000),
    duplicate_window: nanos((options.duplicateWindowSeconds ?? DEFAULT_DUPLICATE_WINDOW_SECONDS) * 1000),
    num_replicas: options.replicas ?? 1,
  };
  const existing = await jsm.streams.info(name).catch((err: unknown) => {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  });
  if (!existing) {
    const config: Partial<StreamConfig> & { name: string } = {
      name,
      ...wanted,
      storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
    };
    await jsm.streams.add(config);
  } else if (differs(existing.config, wanted)) {
    await jsm.streams.update(name, wanted);
  }
  return name;
}

/** Set on a reply whose responder failed: the requester raises it. */
const ERROR_HEADER = 'Ralm-Error';

class NatsBus implements EventBus {
  readonly kind = 'nats' as const;
  private readonly js: JetStreamClient;
  private readonly subscriptions = new Set<NatsSubscription>();
  private connected = true;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    readonly streamId: string,
    private readonly redeliveryDelayMs: number,
    private readonly logger: BusLogger,
  ) {
    this.js = jsm.jetstream();
    void this.watchStatus();
  }

  async publish<T>(subject: Subject<T>, message: T, options: PublishOptions = {}): Promise<PublishAck> {
    if (this.closed) throw new BusClosedError(this.kind);
    const data = subject.encode(message);
    const carrier: Record<string, string> = {};
    injectTraceContext(carrier);
    let hdrs: MsgHdrs | undefined;
    for (const [key, value] of Object.entries(carrier)) (hdrs ??= natsHeaders()).set(key, value);
    const ack = await this.js
      .publish(subject.name, data, {
        ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
        ...(hdrs === undefined ? {} : { headers: hdrs }),
      })
      .catch((err: unknown) => {
        throw asUnavailable(err, 'nats bus', `publish to ${subject.name}`);
      });
    return { duplicate: ack.duplicate };
  }

  async lastSeq(): Promise<number> {
    if (this.closed) throw new BusClosedError(this.kind);
    const info = await this.jsm.streams.info(this.stream).catch((err: unknown) => {
      throw asUnavailable(err, 'nats bus', `stream info of ${this.stream}`);
    });
    return info.state.last_seq;
  }

  async subscribe<T>(subject: Subject<T>, handler: Handler<T>, options: SubscribeOptions): Promise<BusSubscription> {
    if (this.closed) throw new BusClosedError(this.kind);
    requireDurable(options.durable);
    if (options.startSeq !== undefined) requireStartSeq(options.startSeq);
    if (options.startTimeMs !== undefined) requireStartTime(options.startTimeMs);
    const name = consumerName(options.durable, subject.name);
    const subscription = new NatsSubscription(
      options.durable,
      (data) => subject.decode(data),
      handler as Handler<unknown>,
      { redeliveryDelayMs: this.redeliveryDelayMs, maxDeliver: positive(options.maxDeliver, DEFAULT_MAX_DELIVER), onDropped: options.onDropped },
      this.logger,
    );
    const open = async (): Promise<ConsumerMessages> => {
      await this.ensureConsumer(name, subject.name, options);
      const consumer = await this.js.consumers.get(this.stream, name);
      return consumer.consume({ callback: (msg) => subscription.receive(msg) });
    };
    try {
      await subscription.start(open, inactiveAfterMs(options) > 0);
    } catch (err) {
      throw asUnavailable(err, 'nats bus', `subscribe ${options.durable} to ${subject.name}`);
    }
    if (this.closed) {
      await subscription.stop(); // close() ran while this subscribe was in flight
      throw new BusClosedError(this.kind);
    }
    this.subscriptions.add(subscription);
    return {
      stop: async () => {
        this.subscriptions.delete(subscription);
        await subscription.stop();
      },
      pending: async () => {
        const info = await this.jsm.consumers.info(this.stream, name).catch((err: unknown) => {
          throw asUnavailable(err, 'nats bus', `pending of ${options.durable} on ${subject.name}`);
        });
        return info.num_pending + info.num_ack_pending;
      },
    };
  }

  isConnected(): boolean {
    return this.connected && !this.closed && !this.nc.isClosed();
  }

  async serve(subject: string, responder: Responder, options: { queue: string }): Promise<BusSubscription> {
    requireRpcSubject(subject);
    const running = new Set<Promise<void>>();
    // A reply that cannot be sent (over max_payload, the connection draining) must not throw
    // out of the callback: that would end the process. The asker sees no answer and retries.
    const send = (msg: { respond(data?: Uint8Array, opts?: { headers?: MsgHdrs }): boolean }, data: Uint8Array, failure?: string) => {
      try {
        if (failure === undefined) return void msg.respond(data);
        const h = natsHeaders();
        h.set(ERROR_HEADER, failure.slice(0, 1000));
        msg.respond(new Uint8Array(0), { headers: h });
      } catch (err) {
        if (failure === undefined) return send(msg, data, `the answer could not be sent (${(err as Error).message})`);
        this.logger.warn({ subject, ...errorFields(err) }, 'bus reply not sent');
      }
    };
    const sub = this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) {
          // A refused subscription (permissions) would otherwise leave this replica serving nothing, silently.
          this.logger.error({ subject, ...errorFields(err) }, 'request subscription failed');
          return;
        }
        const done = responder(msg.data).then(
          (answer) => send(msg, answer),
          (failure: Error) => send(msg, new Uint8Array(0), failure.message),
        );
        running.add(done);
        void done.finally(() => running.delete(done));
      },
    });
    // The subscription is in place on the server before serve() resolves: a request right after reaches it.
    await this.nc.flush();
    return {
      // No new requests, then the ones being answered finish (their answers go out before the connection closes).
      stop: async () => {
        await sub.drain();
        await Promise.allSettled([...running]);
      },
      pending: async () => sub.getPending(),
    };
  }

  async request(subject: string, payload: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array> {
    requireRpcSubject(subject);
    let reply;
    try {
      reply = await this.nc.request(subject, payload, { timeout: options.timeoutMs });
    } catch (err) {
      const none = err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
      if (none) throw new NoResponderError(subject, { cause: err });
      throw new UnavailableError(`${subject}: no answer within ${options.timeoutMs} ms (${(err as Error).message})`, { cause: err });
    }
    const failure = reply.headers?.get(ERROR_HEADER);
    if (failure) throw new UnavailableError(`${subject}: ${failure}`);
    return reply.data;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((s) => s.stop()));
    if (this.nc.isClosed()) return;
    // Draining needs the server; while reconnecting, unsent acks are lost either way.
    await (this.connected ? this.nc.drain() : this.nc.close());
  }

  private async ensureConsumer(name: string, subject: string, options: SubscribeOptions): Promise<void> {
    const editable = {
      ack_wait: nanos(positive(options.ackWaitSeconds, DEFAULT_ACK_WAIT_SECONDS) * 1000),
      max_ack_pending: positive(options.maxAckPending, DEFAULT_MAX_ACK_PENDING),
      // The server stops redelivering on its own too (e.g. after ack-wait expiries); the handler
      // path below terminates explicitly so the give-up is logged and reported.
      max_deliver: positive(options.maxDeliver, DEFAULT_MAX_DELIVER),
      // Durables honour it, and an update may change it, from nats-server 2.9 on (checked on 2.9.10); 0 clears it.
      inactive_threshold: nanos(inactiveAfterMs(options)),
    };
    let existing = await this.jsm.consumers.info(this.stream, name).catch((err: unknown) => {
      if (isApiError(err, JetStreamApiCodes.ConsumerNotFound)) return undefined;
      throw err;
    });
    if (existing && (options.startSeq !== undefined || options.startTimeMs !== undefined)) {
      // A consumer's start position is fixed at creation: replaying means a new consumer.
      await this.jsm.consumers.delete(this.stream, name);
      existing = undefined;
    }
    if (existing) {
      // deliver_policy only applies at creation, as the port documents.
      // The server leaves out an unset threshold: read that as the 0 that clears it.
      const current = { ...existing.config, inactive_threshold: existing.config.inactive_threshold ?? 0 };
      if (differs(current, editable)) await this.jsm.consumers.update(this.stream, name, editable);
      return;
    }
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      ...(options.startSeq !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.startSeq }
        : options.startTimeMs !== undefined
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(options.startTimeMs).toISOString() }
          : { deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All }),
      ...editable,
    };
    await this.jsm.consumers.add(this.stream, config);
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      switch (status.type) {
        case 'disconnect':
          this.connected = false;
          this.logger.warn({ server: status.server }, 'nats disconnected; reconnecting');
          break;
        case 'reconnect':
          this.connected = true;
          this.logger.info({ server: status.server }, 'nats reconnected');
          break;
        case 'error':
          this.logger.error(errorFields(status.error), 'nats connection error');
          break;
        case 'ldm':
        case 'staleConnection':
        case 'slowConsumer':
          this.logger.warn({ status: status.type }, 'nats connection status');
          break;
        case 'close':
          this.connected = false;
          this.logger.info({}, 'nats connection closed');
          break;
        default:
        // ping, reconnecting, update, forceReconnect: too chatty or informational only.
      }
    }
  }
}

interface RetrySettings {
  redeliveryDelayMs: number;
  maxDeliver: number;
  onDropped: SubscribeOptions['onDropped'];
}

/** One `subscribe()` call: a `consume()` loop whose handlers run concurrently up to the consumer's max ack pending. */
class NatsSubscription {
  private readonly inflight = new Set<Promise<void>>();
  private messages: ConsumerMessages | undefined;
  private open: (() => Promise<ConsumerMessages>) | undefined;
  private reopening: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  private stopping = false;
  private unsent: Array<() => void> = [];

  constructor(
    private readonly durable: string,
    private readonly decode: (data: Uint8Array) => unknown,
    private readonly handler: Handler<unknown>,
    private readonly retry: RetrySettings,
    private readonly logger: BusLogger,
  ) {}

  /**
   * `open` ensures the consumer and starts its `consume()` loop. With `recreate` it runs
   * again when the consumer turns out to be gone (nats.js checks after a reconnect and after
   * missed heartbeats): left alone, nats.js would poll for it forever and deliver nothing.
   */
  async start(open: () => Promise<ConsumerMessages>, recreate: boolean): Promise<void> {
    this.open = open;
    this.follow(await open(), recreate);
  }

  private follow(messages: ConsumerMessages, recreate: boolean): void {
    this.messages = messages;
    void messages.closed().then((err) => {
      if (err && !this.stopping) this.logger.error({ durable: this.durable, ...errorFields(err) }, 'nats consumer stopped');
    });
    void (async () => {
      // Ends when `messages` closes.
      for await (const status of messages.status()) {
        if (status.type !== 'consumer_deleted' && status.type !== 'consumer_not_found') continue;
        if (this.stopping || this.messages !== messages) return;
        if (!recreate) {
          this.logger.error({ durable: this.durable, status: status.type }, 'nats consumer deleted under a live subscription; nothing is delivered until it is re-created');
          return;
        }
        // Not on `consumer_deleted`, the server's word to pulls pending at the deletion: it may
        // still be removing the consumer's files, and a consumer re-created at once under the
        // same name collides with that (nats-server 2.9). `consumer_not_found` follows.
        if (status.type === 'consumer_not_found') {
          this.reopening = this.reopen(messages);
          return;
        }
      }
    })();
  }

  /** Replaces a consume loop whose consumer the server deleted (inactive past its threshold) with one on a fresh consumer. */
  private async reopen(lost: ConsumerMessages): Promise<void> {
    this.logger.warn({ durable: this.durable }, 'nats consumer deleted under a live subscription; re-creating it');
    await lost.close();
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const messages = await this.open!();
        if (this.stopping) {
          await messages.close();
          return;
        }
        this.follow(messages, true);
        this.logger.info({ durable: this.durable }, 'nats consumer re-created');
        return;
      } catch (err) {
        this.logger.warn({ durable: this.durable, attempt, ...errorFields(err) }, 'nats consumer not re-created; retrying');
        await sleep(redeliveryDelay(1000, attempt), undefined, { signal: this.stopped.signal }).catch(() => undefined);
      }
    }
  }

  receive(msg: JsMsg): void {
    if (this.stopping) {
      this.settle(() => msg.nak()); // hand it back now rather than after ack_wait
      return;
    }
    const delivery: Delivery = {
      subject: msg.subject,
      streamSeq: msg.info.streamSequence,
      deliveryCount: msg.info.deliveryCount,
      publishedAtMs: Math.floor(msg.info.timestampNanos / 1e6),
      headers: toRecord(msg.headers),
    };
    let message: unknown;
    try {
      message = this.decode(msg.data);
    } catch (err) {
      // No redelivery can fix the bytes; a nak would only hold a max-ack-pending slot, up to max_deliver times.
      // term() without a reason: nats-server 2.9 ignores a `+TERM <reason>` ack.
      reportDropped(this.logger, this.durable, 'undecodable', delivery, err, this.retry.onDropped);
      this.settle(() => msg.term());
      return;
    }
    const done = withConsumerSpan({ system: 'nats', durable: this.durable, delivery }, async () => {
      await this.handler(message, delivery);
    }).then(
      () => this.settle(() => msg.ack()),
      (err: unknown) => {
        const { subject, streamSeq, deliveryCount } = delivery;
        if (deliveryCount >= this.retry.maxDeliver) {
          reportDropped(this.logger, this.durable, 'max_deliver', delivery, err, this.retry.onDropped);
          this.settle(() => msg.term());
          return;
        }
        this.logger.warn({ subject, durable: this.durable, streamSeq, deliveryCount, ...errorFields(err) }, 'bus handler failed; will redeliver');
        this.settle(() => msg.nak(redeliveryDelay(this.retry.redeliveryDelayMs, deliveryCount)));
      },
    );
    const tracked = done.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /**
   * Acks are fire-and-forget (on a closed connection the server redelivers after
   * ack_wait anyway) and leave together once per event-loop turn: nats.js flushes its
   * outbound buffer in a microtask, so acks sent one by one as handlers settle would
   * each cost a socket write (bench/ingest).
   */
  private settle(send: () => void): void {
    this.unsent.push(send);
    if (this.unsent.length === 1) setImmediate(() => this.sendAcks());
  }

  private sendAcks(): void {
    const sends = this.unsent;
    this.unsent = [];
    for (const send of sends) {
      try {
        send();
      } catch (err) {
        this.logger.warn({ durable: this.durable, ...errorFields(err) }, 'nats ack not sent');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await this.messages?.close();
    await this.reopening;
    while (this.inflight.size > 0) await Promise.all(this.inflight);
    this.sendAcks(); // before the caller drains or closes the connection
  }
}

/**
 * JetStream consumer name for a (durable, subject) pair. The subject is part of
 * the name so one durable can follow several subjects, as on the memory bus;
 * only [A-Za-z0-9_-] survive (names become subject tokens and file names).
 */
export function consumerName(durable: string, subject: string): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return `${clean(durable)}__${clean(subject)}`;
}

function toRecord(hdrs: MsgHdrs | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  if (hdrs) for (const [key, values] of hdrs) if (values[0] !== undefined) record[key] = values[0];
  return Object.freeze(record);
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

function differs(current: object, wanted: object): boolean {
  const now = current as Record<string, unknown>;
  return Object.entries(wanted).some(([key, value]) => JSON.stringify(now[key]) !== JSON.stringify(value));
}
