/**
 * The load generator of bench/overload.ts, in its own process so it has its own core
 * and the scorer's RSS is the scorer's alone. Told by IPC what to offer; answers
 * with every call's outcome. Open loop (a fixed arrival rate, as independent callers
 * produce), or closed loop (`concurrency` callers back to back) to find capacity.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { LookalikeScorerServiceClient, ScoreRequest } from '@ralm/proto/lookalike_scorer';

export interface LoadOrder {
  address: string;
  userIds: string[];
  deadlineMs: number;
  seconds: number;
  /** Calls per second (open loop), or undefined for a closed loop of `concurrency` callers. */
  rate?: number;
  concurrency?: number;
}

export interface LoadResult {
  offered: number;
  /** OK replies that arrived within the deadline, with their latencies (ms). */
  okLatencies: number[];
  byCode: Record<string, number>;
  /** Seconds the offering lasted. */
  seconds: number;
  /** Longest any call took to get its answer, whatever it was (ms). */
  slowestMs: number;
}

/** Several channels, as several upstream pods would open. */
const CHANNELS = 4;

async function offer(order: LoadOrder): Promise<LoadResult> {
  const clients = Array.from(
    { length: CHANNELS },
    () => new LookalikeScorerServiceClient(order.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  const result: LoadResult = { offered: 0, okLatencies: [], byCode: {}, seconds: order.seconds, slowestMs: 0 };
  const count = (code: string) => (result.byCode[code] = (result.byCode[code] ?? 0) + 1);
  let n = 0;
  /** Resolves with the server's retry hint (ms) when it refused the call, else 0. */
  const call = () =>
    new Promise<number>((resolve) => {
      const i = n++;
      result.offered++;
      const started = performance.now();
      const request = ScoreRequest.fromPartial({ userId: order.userIds[i % order.userIds.length]!, topK: 10 });
      clients[i % CHANNELS]!.score(request, new Metadata(), { deadline: Date.now() + order.deadlineMs }, (err: ServiceError | null) => {
        const ms = performance.now() - started;
        result.slowestMs = Math.max(result.slowestMs, ms);
        if (!err) {
          if (ms <= order.deadlineMs) result.okLatencies.push(ms);
          count(ms <= order.deadlineMs ? 'OK' : 'OK_LATE');
        } else count(status[err.code] ?? String(err.code));
        resolve(err?.code === status.RESOURCE_EXHAUSTED ? Number(err.metadata?.get('grpc-retry-pushback-ms')[0] ?? 0) : 0);
      });
    });
  const t0 = performance.now();
  const end = t0 + order.seconds * 1000;
  const inFlight = new Set<Promise<number>>();
  if (order.rate !== undefined) {
    // Catch up every millisecond to the number of calls the rate owes by now.
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - t0) / 1000) * order.rate);
      while (result.offered < due) {
        const p = call();
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  } else {
    await Promise.all(
      Array.from({ length: order.concurrency ?? 64 }, async () => {
        // A well-behaved caller: after a refusal it waits as long as the server asked.
        while (performance.now() < end) {
          const pushback = await call();
          if (pushback > 0) await new Promise((r) => setTimeout(r, pushback));
        }
      }),
    );
  }
  result.seconds = (performance.now() - t0) / 1000;
  await Promise.all(inFlight);
  for (const c of clients) c.close();
  return result;
}

process.on('message', (order: LoadOrder) => {
  offer(order).then(
    (result) => process.send!(result),
    (err: unknown) => process.send!({ error: String(err) }),
  );
});
