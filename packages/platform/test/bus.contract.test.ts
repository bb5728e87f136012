/**
 * One contract suite for the event bus port, run against the in-memory bus and
 * against NATS JetStream on a real nats-server. Waits are on events or on
 * poll-until-with-deadline, never on fixed sleeps.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { status } from '@grpc/grpc-js';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectNatsBus, consumerName, createMemoryBus, openMemoryBus, type Delivery, type DropReason, type EventBus, type Subject, type SubscribeOptions } from '@ralm/platform/bus';
import { NoResponderError, UnavailableError } from '@ralm/platform/errors';
import { toGrpcStatus } from '@ralm/platform/grpc/status';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';

interface TestEvent {
  id: string;
  body?: string;
}

interface Seen {
  id: string;
  deliveryCount: number;
  streamSeq: number;
  publishedAtMs: number;
}

let subjectCounter = 0;
/** A fresh subject per test, so tests sharing one NATS stream never see each other's messages. */
function testSubject(): Subject<TestEvent> {
  const name = `ralm.v1.test${++subjectCounter}x${Math.random().toString(36).slice(2, 8)}.event`;
  return {
    name,
    encode: (m) => new TextEncoder().encode(JSON.stringify(m)),
    decode: (b) => JSON.parse(new TextDecoder().decode(b)) as TestEvent,
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `waitFor` for a condition that needs a round trip (e.g. a JetStream API call). */
async function waitForAsync(what: string, condition: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A TCP relay to a local port that can cut every connection and refuse new ones
 * until restored: the client loses the server while the server stays up.
 */
async function startCuttableProxy(targetPort: number) {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const relay = net.createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(socket);
      socket.pipe(other);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    url: `nats://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    cut(): void {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore(): void {
      cut = false;
    },
    close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => relay.close(() => resolve()));
    },
  };
}

const ids = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function publishAll(bus: EventBus, subject: Subject<TestEvent>, list: string[]): Promise<void> {
  for (const id of list) await bus.publish(subject, { id }, { msgId: `${subject.name}:${id}` });
}

/** A handler that records every delivery and, once it resolves, the acknowledged id. */
function recorder(before?: (event: TestEvent, delivery: Delivery) => Promise<void>) {
  const seen: Seen[] = [];
  const acked = new Set<string>();
  const handler = async (event: TestEvent, delivery: Delivery): Promise<void> => {
    seen.push({ id: event.id, deliveryCount: delivery.deliveryCount, streamSeq: delivery.streamSeq, publishedAtMs: delivery.publishedAtMs });
    await before?.(event, delivery);
    acked.add(event.id);
  };
  return { seen, acked, handler };
}

/** Collects what the bus gives up on, for `onDropped`. */
function dropRecorder() {
  const dropped: Array<{ reason: DropReason; streamSeq: number; deliveryCount: number }> = [];
  const onDropped = (reason: DropReason, d: Delivery): void => void dropped.push({ reason, streamSeq: d.streamSeq, deliveryCount: d.deliveryCount });
  return { dropped, onDropped };
}

/** The same subject name with a codec that writes raw text, to store bytes the real codec cannot decode. */
function rawTwin(subject: Subject<TestEvent>): Subject<string> {
  return { name: subject.name, encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder().decode(b) };
}

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
afterAll(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

function describeBusContract(name: string, makeBus: () => Promise<EventBus>, kind = name): void {
  describe(`${name} bus contract`, () => {
    let bus: EventBus;
    beforeEach(async () => {
      bus = await makeBus();
    });
    afterEach(async () => {
      await bus.close();
    });

    it('answers a request from one member of a queue, and says when no one serves or the responder fails', async () => {
      const subject = `ralm.rpc.test.${Math.random().toString(36).slice(2)}`;
      const served: string[] = [];
      const member = (name: string) => async (request: Uint8Array) => {
        served.push(name);
        return new TextEncoder().encode(`${name}:${new TextDecoder().decode(request)}`);
      };
      const a = await bus.serve(subject, member('a'), { queue: 'owners' });
      const b = await bus.serve(subject, member('b'), { queue: 'owners' });
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => bus.request(subject, new TextEncoder().encode(`q${i}`), { timeoutMs: 3000 })));
      expect(answers.map((x) => new TextDecoder().decode(x).split(':')[1])).toEqual(Array.from({ length: 8 }, (_, i) => `q${i}`));
      // Each request reached exactly one member.
      expect(served).toHaveLength(8);
      await a.stop();
      await b.stop();
      // No one serving is told apart from an answer that is late (the owner check relies on it).
      await expect(bus.request(subject, new Uint8Array([1]), { timeoutMs: 500 })).rejects.toMatchObject({ name: 'NoResponderError' });
      const slow = await bus.serve(subject, () => new Promise((r) => setTimeout(() => r(new Uint8Array(0)), 1000)), { queue: 'owners' });
      const late = await bus.request(subject, new Uint8Array([1]), { timeoutMs: 200 }).catch((e: Error) => e);
      expect(late).toBeInstanceOf(UnavailableError);
      expect(late).not.toBeInstanceOf(NoResponderError);
      await slow.stop();
      const failing = await bus.serve(subject, async () => Promise.reject(new Error('owner broke')), { queue: 'owners' });
      await expect(bus.request(subject, new Uint8Array([1]), { timeoutMs: 3000 })).rejects.toMatchObject({ name: 'UnavailableError', message: expect.stringMatching(/owner broke/) });
      await failing.stop();
    });

    it('delivers a published message with its delivery metadata', async () => {
      const subject = testSubject();
      const got = deferred<[TestEvent, Delivery]>();
      await bus.subscribe(subject, async (event, delivery) => got.resolve([event, delivery]), { durable: 'round-trip' });
      const before = Date.now();
      await bus.publish(subject, { id: 'a', body: 'hello' });
      const after = Date.now();
      const [event, delivery] = await got.promise;
      expect(event).toEqual({ id: 'a', body: 'hello' });
      expect(delivery).toMatchObject({ subject: subject.name, deliveryCount: 1 });
      expect(delivery.streamSeq).toBeGreaterThanOrEqual(1);
      // The server stamps JetStream messages; same host, so a little slack for rounding only.
      expect(delivery.publishedAtMs).toBeGreaterThanOrEqual(before - 5);
      expect(delivery.publishedAtMs).toBeLessThanOrEqual(after + 5);
      expect(bus.kind).toBe(kind);
      expect(bus.isConnected()).toBe(true);
    });

    it('delivers every message in order, and never redelivers an acknowledged one', async () => {
      const subject = testSubject();
      const published = ids(20);
      await publishAll(bus, subject, published);
      const first = recorder();
      const sub = await bus.subscribe(subject, first.handler, { durable: 'once' });
      await waitFor('all 20 acked', () => first.acked.size === 20);
      await sub.stop();
      expect(first.seen.map((s) => s.id)).toEqual(published);
      const seqs = first.seen.map((s) => s.streamSeq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(20);

      // A redelivery of anything acked would arrive before this later message.
      const again = recorder();
      await bus.subscribe(subject, again.handler, { durable: 'once' });
      await bus.publish(subject, { id: 'sentinel' });
      await waitFor('sentinel', () => again.acked.has('sentinel'));
      expect(again.seen.map((s) => s.id)).toEqual(['sentinel']);
    });

    it('counts what a subscription has not acknowledged yet, down to 0 once it caught up', async () => {
      const subject = testSubject();
      await publishAll(bus, subject, ids(6));
      const gate = deferred();
      let handled = 0;
      // One message in flight at a time, held at the gate: the other five wait in the stream.
      const sub = await bus.subscribe(subject, async () => void (await gate.promise, handled++), { durable: 'lagging', maxAckPending: 1 });
      await waitForAsync('the backlog seen', async () => (await sub.pending()) === 6);
      gate.resolve();
      await waitFor('all handled', () => handled === 6);
      await waitForAsync('caught up', async () => (await sub.pending()) === 0);
      await bus.publish(subject, { id: 'late' });
      await waitForAsync('caught up again', async () => handled === 7 && (await sub.pending()) === 0);
      await sub.stop();
    });

    it("reports the stream's last sequence: that of the newest stored message", async () => {
      const subject = testSubject();
      const before = await bus.lastSeq();
      for (let i = 0; i < 3; i++) await bus.publish(subject, { id: `m${i}` });
      const got: number[] = [];
      const sub = await bus.subscribe(subject, async (_m, d) => void got.push(d.streamSeq), { durable: `last-${kind}`, startSeq: before + 1 });
      for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      await sub.stop();
      expect(await bus.lastSeq()).toBe(got.at(-1));
      expect(got.at(-1)).toBeGreaterThanOrEqual(before + 3);
    });

    it('drops a publish whose msgId was already seen', async () => {
      const subject = testSubject();
      await bus.publish(subject, { id: 'a' }, { msgId: `${subject.name}:x` });
      await bus.publish(subject, { id: 'a-again' }, { msgId: `${subject.name}:x` });
      await bus.publish(subject, { id: 'b' }, { msgId: `${subject.name}:y` });
      const r = recorder();
      await bus.subscribe(subject, r.handler, { durable: 'dedupe' });
      await waitFor('b', () => r.acked.has('b'));
      expect(r.seen.map((s) => s.id)).toEqual(['a', 'b']);
      expect(r.seen[1]!.streamSeq).toBe(r.seen[0]!.streamSeq + 1);
    });

    it('resumes a durable after stop(): every message processed, interrupted ones redelivered', async () => {
      const subject = testSubject();
      const published = ids(100);
      await publishAll(bus, subject, published);
      const blocked = new Set(ids(10).map((_, i) => `m${40 + i}`));
      const gate = deferred();
      let inflight = 0;
      let maxInflight = 0;
      const first = recorder(async (event) => {
        maxInflight = Math.max(maxInflight, ++inflight);
        try {
          if (blocked.has(event.id)) await gate.promise;
        } finally {
          inflight--;
        }
      });
      const sub = await bus.subscribe(subject, first.handler, { durable: 'resume', maxAckPending: 10 });
      await waitFor('m40..m49 in flight', () => inflight === 10);
      expect(first.seen.map((s) => s.id)).toEqual(ids(50)); // maxAckPending holds m50 back
      let stopped = false;
      const stopping = sub.stop().then(() => (stopped = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(stopped).toBe(false); // stop() waits for in-flight handlers
      gate.reject(new Error('interrupted by shutdown'));
      await stopping;
      expect(maxInflight).toBe(10);
      expect([...first.acked].sort()).toEqual(ids(40).sort());

      const second = recorder();
      await bus.subscribe(subject, second.handler, { durable: 'resume', maxAckPending: 10 });
      await waitFor('the rest acked', () => second.acked.size === 60);
      const processed = new Set([...first.acked, ...second.acked]);
      expect([...processed].sort()).toEqual([...published].sort());
      expect([...first.acked].filter((id) => second.acked.has(id))).toEqual([]);
      for (const s of second.seen) expect(s.deliveryCount).toBe(blocked.has(s.id) ? 2 : 1);
    });

    it('redelivers a message whose handler threw', async () => {
      const subject = testSubject();
      const r = recorder(async (event, delivery) => {
        if (event.id === 'b' && delivery.deliveryCount === 1) throw new Error('transient');
      });
      await bus.subscribe(subject, r.handler, { durable: 'retry' });
      await publishAll(bus, subject, ['a', 'b', 'c']);
      await waitFor('b acked', () => r.acked.has('b'));
      const deliveriesOfB = r.seen.filter((s) => s.id === 'b');
      expect(deliveriesOfB.map((s) => s.deliveryCount)).toEqual([1, 2]);
      // The publish time is the message's, not the delivery's.
      expect(deliveriesOfB[1]!.publishedAtMs).toBe(deliveriesOfB[0]!.publishedAtMs);
      expect([...r.acked].sort()).toEqual(['a', 'b', 'c']);
    });

    it('terminates a message that does not decode, without blocking later ones', async () => {
      const subject = testSubject();
      await bus.publish(rawTwin(subject), 'not json {');
      await publishAll(bus, subject, ['after']);
      const r = recorder();
      const d = dropRecorder();
      // One unacked message at a time: 'after' can only arrive once the poison is settled.
      await bus.subscribe(subject, r.handler, { durable: 'poison-bytes', maxAckPending: 1, onDropped: d.onDropped });
      await waitFor('after', () => r.acked.has('after'));
      expect(r.seen.map((s) => s.id)).toEqual(['after']);
      expect(d.dropped).toEqual([{ reason: 'undecodable', streamSeq: r.seen[0]!.streamSeq - 1, deliveryCount: 1 }]);
    });

    it('gives up on a message whose handler always throws after maxDeliver deliveries', async () => {
      const subject = testSubject();
      const r = recorder(async (event) => {
        if (event.id === 'poison') throw new Error('always fails');
      });
      const d = dropRecorder();
      await bus.subscribe(subject, r.handler, { durable: 'poison-handler', maxAckPending: 1, maxDeliver: 3, onDropped: d.onDropped });
      await publishAll(bus, subject, ['poison', 'next']);
      await waitFor('next', () => r.acked.has('next'));
      expect(r.seen.map((s) => [s.id, s.deliveryCount])).toEqual([
        ['poison', 1],
        ['poison', 2],
        ['poison', 3],
        ['next', 1],
      ]);
      expect(d.dropped).toEqual([{ reason: 'max_deliver', streamSeq: r.seen[0]!.streamSeq, deliveryCount: 3 }]);
    });

    it('redelivers when the ack wait expires', async () => {
      const subject = testSubject();
      const gate = deferred();
      const r = recorder(async (_event, delivery) => {
        if (delivery.deliveryCount === 1) await gate.promise;
      });
      await bus.subscribe(subject, r.handler, { durable: 'slow', ackWaitSeconds: 1 });
      await bus.publish(subject, { id: 'a' });
      await waitFor('second delivery', () => r.seen.length === 2);
      gate.resolve();
      expect(r.seen.map((s) => s.deliveryCount)).toEqual([1, 2]);
    });

    it('gives each durable every message', async () => {
      const subject = testSubject();
      const a = recorder();
      const b = recorder();
      await bus.subscribe(subject, a.handler, { durable: 'reader-a' });
      await bus.subscribe(subject, b.handler, { durable: 'reader-b' });
      await publishAll(bus, subject, ids(10));
      await waitFor('both durables', () => a.acked.size === 10 && b.acked.size === 10);
      expect(a.seen.map((s) => s.id)).toEqual(ids(10));
      expect(b.seen.map((s) => s.id)).toEqual(ids(10));
    });

    it('deletes a durable left without a subscription past inactiveAfterSeconds, and only that one', async () => {
      const subject = testSubject();
      const gone = recorder();
      const owner = recorder();
      const back = recorder();
      const live = recorder();
      const replica = { inactiveAfterSeconds: 1 };
      const subs = await Promise.all([
        bus.subscribe(subject, gone.handler, { durable: 'replica-gone', ...replica }),
        bus.subscribe(subject, owner.handler, { durable: 'owner' }),
        bus.subscribe(subject, back.handler, { durable: 'replica-back', ...replica }),
        bus.subscribe(subject, live.handler, { durable: 'replica-live', ...replica }),
      ]);
      await publishAll(bus, subject, ['first']);
      const all = [gone, owner, back, live];
      await waitFor('first everywhere', () => all.every((r) => r.acked.has('first')));
      await Promise.all(subs.slice(0, 3).map((sub) => sub.stop()));
      // Back within the threshold (a quick pod restart): the durable and its position stay.
      const backAgain = recorder();
      await bus.subscribe(subject, backAgain.handler, { durable: 'replica-back', ...replica });
      await publishAll(bus, subject, ['missed']);
      // The expiry itself is under test and no event announces it: the threshold, plus slack for the server's timer.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const goneAgain = recorder();
      const ownerAgain = recorder();
      await bus.subscribe(subject, goneAgain.handler, { durable: 'replica-gone', deliverPolicy: 'new', ...replica });
      await bus.subscribe(subject, ownerAgain.handler, { durable: 'owner', deliverPolicy: 'new' });
      await publishAll(bus, subject, ['after']);
      await waitFor('after everywhere', () => [goneAgain, ownerAgain, backAgain, live].every((r) => r.acked.has('after')));
      // Fresh, per deliverPolicy 'new': 'missed' went with the deleted durable.
      expect(goneAgain.seen.map((s) => s.id)).toEqual(['after']);
      // Kept: resumed where they stopped, whatever deliverPolicy says.
      expect(ownerAgain.seen.map((s) => s.id)).toEqual(['missed', 'after']);
      expect(backAgain.seen.map((s) => s.id)).toEqual(['missed', 'after']);
      expect(live.seen.map((s) => s.id)).toEqual(['first', 'missed', 'after']);
    });

    it("starts a new durable at the next message with deliverPolicy 'new'", async () => {
      const subject = testSubject();
      await bus.publish(subject, { id: 'old' });
      const r = recorder();
      await bus.subscribe(subject, r.handler, { durable: 'latest', deliverPolicy: 'new' });
      await bus.publish(subject, { id: 'new' });
      await waitFor('new', () => r.acked.has('new'));
      expect(r.seen.map((s) => s.id)).toEqual(['new']);
    });

    it('replays an acknowledged durable from startSeq, forgetting its old position', async () => {
      const subject = testSubject();
      const first = recorder();
      const sub = await bus.subscribe(subject, first.handler, { durable: 'snapshotting' });
      await publishAll(bus, subject, ids(6));
      await waitFor('all six acked', () => first.acked.size === 6);
      await sub.stop();
      const third = first.seen.find((s) => s.id === 'm2')!.streamSeq;
      const replay = recorder();
      await bus.subscribe(subject, replay.handler, { durable: 'snapshotting', startSeq: third });
      await publishAll(bus, subject, ['m6']);
      await waitFor('replay up to m6', () => replay.acked.has('m6'));
      expect(replay.seen.map((s) => s.id)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
      await expect(bus.subscribe(subject, replay.handler, { durable: 'snapshotting', startSeq: 0 })).rejects.toThrow(/startSeq/);
    });

    it('replays a durable from startTimeMs: the messages stored at or after that time', async () => {
      const subject = testSubject();
      const first = recorder();
      const sub = await bus.subscribe(subject, first.handler, { durable: 'windowed' });
      await publishAll(bus, subject, ids(3));
      await waitFor('three acked', () => first.acked.size === 3);
      // Store times have millisecond resolution: a gap makes the cut unambiguous.
      await new Promise((r) => setTimeout(r, 25));
      await publishAll(bus, subject, ['m3', 'm4']);
      await waitFor('five acked', () => first.acked.size === 5);
      await sub.stop();
      const cut = first.seen.find((s) => s.id === 'm3')!.publishedAtMs;
      expect(first.seen.find((s) => s.id === 'm2')!.publishedAtMs).toBeLessThan(cut);
      const replay = recorder();
      await bus.subscribe(subject, replay.handler, { durable: 'windowed', startTimeMs: cut });
      await waitFor('replay of m3, m4', () => replay.acked.has('m4'));
      expect(replay.seen.map((s) => s.id)).toEqual(['m3', 'm4']);
      const late = recorder();
      await bus.subscribe(subject, late.handler, { durable: 'windowed', startTimeMs: cut + 60_000 });
      await publishAll(bus, subject, ['m5']);
      await waitFor('only the new message', () => late.acked.has('m5'));
      expect(late.seen.map((s) => s.id)).toEqual(['m5']);
      await expect(bus.subscribe(subject, late.handler, { durable: 'windowed', startTimeMs: -1 })).rejects.toThrow(/startTimeMs/);
    });

    it("runs the handler in a CONSUMER span under the publisher's trace", async () => {
      const subject = testSubject();
      const got = deferred<{ traceId?: string; headers: Delivery['headers'] }>();
      const handler = async (_e: TestEvent, delivery: Delivery): Promise<void> =>
        got.resolve({ traceId: trace.getSpan(context.active())?.spanContext().traceId, headers: delivery.headers });
      await bus.subscribe(subject, handler, { durable: 'traced' });
      const tracer = trace.getTracer('bus-test');
      const publisher = await tracer.startActiveSpan('publish-click', async (span) => {
        await bus.publish(subject, { id: 'a', body: 'secret-payload' }, { msgId: `${subject.name}:a` });
        span.end();
        return span.spanContext();
      });
      const { traceId, headers } = await got.promise;
      expect(headers['traceparent']).toContain(publisher.traceId);
      expect(traceId).toBe(publisher.traceId);
      await waitFor('consumer span exported', () => exporter.getFinishedSpans().some((s) => s.name === `${subject.name} process`));
      const span = exporter.getFinishedSpans().find((s) => s.name === `${subject.name} process`)!;
      expect(span.kind).toBe(SpanKind.CONSUMER);
      expect(span.parentSpanContext?.spanId).toBe(publisher.spanId);
      expect(span.attributes).toMatchObject({
        'messaging.system': kind,
        'messaging.destination.name': subject.name,
        'ralm.bus.delivery_count': 1,
      });
      // The message id is the publisher's idempotency key (a click's event id): never on a span.
      expect(span.attributes['messaging.message.id']).toBeUndefined();
      expect(JSON.stringify(span.attributes)).not.toContain('secret-payload');
    });

    it('lets a handler stop its own subscription mid-stream; the rest arrive on the next subscription', async () => {
      const subject = testSubject();
      const published = ids(30);
      await publishAll(bus, subject, published);
      const first = recorder();
      let stopping: Promise<void> | undefined;
      let sub: { stop(): Promise<void> } | undefined;
      sub = await bus.subscribe(
        subject,
        // Synchronously, before any await: the bus may still be inside its delivery loop.
        (event, delivery) => {
          if (first.seen.length >= 10 && !stopping) stopping = sub!.stop();
          return first.handler(event, delivery);
        },
        // JetStream loses messages already pulled toward a closed subscription until ack_wait
        // expires (at-least-once, not at-once): keep that wait short here.
        { durable: 'self-stop', maxAckPending: 4, ackWaitSeconds: 1 },
      );
      await waitFor('the handler to stop its subscription', () => stopping !== undefined);
      await stopping;
      expect(first.acked.size).toBeLessThan(30);
      const second = recorder();
      const sub2 = await bus.subscribe(subject, second.handler, { durable: 'self-stop', maxAckPending: 4, ackWaitSeconds: 1 });
      await waitFor('the rest', () => new Set([...first.acked, ...second.acked]).size === 30);
      await sub2.stop();
    });

    it('rejects a subscribe without a durable, and use after close()', async () => {
      const subject = testSubject();
      await expect(bus.subscribe(subject, async () => undefined, { durable: '' })).rejects.toBeInstanceOf(TypeError);
      await bus.close();
      expect(bus.isConnected()).toBe(false);
      await expect(bus.publish(subject, { id: 'late' })).rejects.toMatchObject({ code: 'BUS_CLOSED' });
      await expect(bus.subscribe(subject, async () => undefined, { durable: 'late' })).rejects.toMatchObject({ code: 'BUS_CLOSED' });
      // Closed is one kind of unavailable: an RPC that hits it answers UNAVAILABLE.
      const err = await bus.publish(subject, { id: 'late' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(toGrpcStatus(err).code).toBe(status.UNAVAILABLE);
    });
  });
}

describeBusContract('memory', async () => createMemoryBus({ redeliveryDelayMs: 20 }));
describeBusContract(
  'journaled memory',
  async () => openMemoryBus({ redeliveryDelayMs: 20, journalDir: fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-journal-')) }),
  'memory',
);

describe('nats', () => {
  let server: NatsServer;
  const connectBus = (): Promise<EventBus> =>
    connectNatsBus({ servers: server.url, name: 'bus-test', redeliveryDelayMs: 20, reconnectTimeWaitMs: 100 });

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeBusContract('nats', connectBus);

  it('answers an asker with an error when the answer is over the server’s max_payload, and the responder lives on', async () => {
    // Reproduced: msg.respond threw inside the callback's promise and ended the owner's process.
    const bus = await connectBus();
    try {
      const subject = 'ralm.rpc.test.big';
      const served = await bus.serve(subject, async (req) => (req[0] === 1 ? new Uint8Array(2 * 1024 * 1024) : new Uint8Array([7])), { queue: 'q' });
      await expect(bus.request(subject, new Uint8Array([1]), { timeoutMs: 3000 })).rejects.toMatchObject({ name: 'UnavailableError', message: expect.stringMatching(/the answer could not be sent/) });
      await expect(bus.request(subject, new Uint8Array([0]), { timeoutMs: 3000 })).resolves.toEqual(new Uint8Array([7]));
      await served.stop();
    } finally {
      await bus.close();
    }
  });

  it('updates the stream and a durable when their editable settings change', async () => {
    const subject = testSubject();
    const first = await connectBus();
    await (await first.subscribe(subject, async () => undefined, { durable: 'tuned', ackWaitSeconds: 30 })).stop();
    await first.close();
    const second = await connectNatsBus({ servers: server.url, name: 'bus-test', stream: { duplicateWindowSeconds: 60 } });
    const tune = async (options: Omit<SubscribeOptions, 'durable'>) => (await second.subscribe(subject, async () => undefined, { durable: 'tuned', ...options })).stop();

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const consumer = () => jsm.consumers.info('RALM', consumerName('tuned', subject.name));
      await tune({ ackWaitSeconds: 5, maxAckPending: 7, inactiveAfterSeconds: 3600 });
      expect((await jsm.streams.info('RALM')).config.duplicate_window).toBe(60e9);
      expect((await consumer()).config).toMatchObject({ ack_wait: 5e9, max_ack_pending: 7, max_deliver: 20, inactive_threshold: 3600e9, filter_subject: subject.name });
      // Unset again: kept forever again.
      await tune({ ackWaitSeconds: 5, maxAckPending: 7 });
      expect((await consumer()).config.inactive_threshold ?? 0).toBe(0);
      await jsm.streams.update('RALM', { duplicate_window: 120e9 });
    } finally {
      await second.close();
      await nc.close();
    }
  });

  it('re-creates a per-replica durable deleted while its client was cut off, as a fresh one', async () => {
    const proxy = await startCuttableProxy(server.port);
    const bus = await connectNatsBus({ servers: proxy.url, name: 'bus-test', redeliveryDelayMs: 20, reconnectTimeWaitMs: 100 });
    const publisher = await connectBus();
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const subject = testSubject();
      const name = consumerName('replica', subject.name);
      const exists = () => jsm.consumers.info('RALM', name).then(() => true, () => false);
      const r = recorder();
      await bus.subscribe(subject, r.handler, { durable: 'replica', deliverPolicy: 'new', inactiveAfterSeconds: 1 });
      await publishAll(publisher, subject, ['before']);
      await waitFor('before', () => r.acked.has('before'));

      proxy.cut();
      await waitFor('disconnect noticed', () => !bus.isConnected());
      await publishAll(publisher, subject, ['while-cut-off']);
      await waitForAsync('the server to delete the inactive durable', async () => !(await exists()));
      proxy.restore();
      await waitFor('reconnected', () => bus.isConnected());
      await waitForAsync('the durable re-created', exists);
      await publishAll(publisher, subject, ['after']);
      await waitFor('after', () => r.acked.has('after'));
      // Fresh, per deliverPolicy 'new': what was published while it was gone is not delivered.
      expect(r.seen.map((s) => s.id)).toEqual(['before', 'after']);
    } finally {
      await bus.close();
      await publisher.close();
      await nc.close();
      await proxy.close();
    }
  });

  it('rejects a publish with UnavailableError within its timeout while the server is down', async () => {
    const own = await startNatsServer({ jetstream: true });
    const bus = await connectNatsBus({ servers: own.url, name: 'bus-test', reconnectTimeWaitMs: 100, requestTimeoutMs: 300 });
    try {
      await own.stop();
      await waitFor('disconnect noticed', () => !bus.isConnected());
      const started = Date.now();
      const err = await bus.publish(testSubject(), { id: 'lost' }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).cause).toBeInstanceOf(Error);
      expect(toGrpcStatus(err).code).toBe(status.UNAVAILABLE);
      await expect(bus.subscribe(testSubject(), async () => undefined, { durable: 'down' })).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await bus.close();
    }
  });

  it('reconnects after a server restart and keeps delivering from the durable', async () => {
    const bus = await connectBus();
    try {
      const subject = testSubject();
      const r = recorder();
      await bus.subscribe(subject, r.handler, { durable: 'survivor' });
      await publishAll(bus, subject, ids(10));
      await waitFor('before restart', () => r.acked.size === 10);

      await server.restart(() => waitFor('disconnect noticed', () => !bus.isConnected()));
      await waitFor('reconnected', () => bus.isConnected());
      await publishAll(bus, subject, ids(10, 'after'));
      await waitFor('after restart', () => r.acked.size === 20);
      expect(new Set(r.seen.map((s) => s.id)).size).toBe(20);
    } finally {
      await bus.close();
    }
  });
});
