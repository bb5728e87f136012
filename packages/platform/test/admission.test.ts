import fc from 'fast-check';
import { DeadlineExceededError, CancelledError } from '@ralm/platform';
import { Admission, OverloadedError, type ShedReason } from '../src/grpc/admission';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function recorder() {
  const shed: ShedReason[] = [];
  const loads: Array<[number, number]> = [];
  return { shed, loads, observer: { shed: (_m: string, r: ShedReason) => shed.push(r), load: (_m: string, running: number, queued: number) => loads.push([running, queued]) } };
}

const never = () => new AbortController().signal;
const settled = <T>(p: Promise<T>) => p.then(() => 'resolved', () => 'rejected');
const tick = () => new Promise((r) => setImmediate(r));

describe('Admission', () => {
  it('runs up to its concurrency, queues up to its queue, refuses the rest at once with a retry hint', async () => {
    const { shed, observer } = recorder();
    const a = new Admission('S/M', { concurrency: 2, queue: 1 }, observer);
    const r1 = await a.acquire(never(), undefined);
    const r2 = await a.acquire(never(), undefined);
    let thirdStarted = false;
    const third = a.acquire(never(), undefined).then((release) => ((thirdStarted = true), release));
    const fourth = a.acquire(never(), undefined);
    await expect(fourth).rejects.toBeInstanceOf(OverloadedError);
    await expect(fourth).rejects.toMatchObject({ reason: 'queue_full', method: 'S/M' });
    expect(((await fourth.catch((e: unknown) => e)) as OverloadedError).retryAfterMs).toBeGreaterThan(0);
    expect(shed).toEqual(['queue_full']);
    expect(a.state).toEqual({ running: 2, queued: 1 });
    await tick();
    expect(thirdStarted).toBe(false);
    r1();
    r1(); // a second release of the same turn gives nothing back twice
    const r3 = await third;
    expect(a.state).toEqual({ running: 2, queued: 0 });
    r2();
    r3();
    expect(a.state).toEqual({ running: 0, queued: 0 });
  });

  it('a waiting call whose caller leaves gives its place back and never starts; the next one gets the turn', async () => {
    const { shed, observer } = recorder();
    const a = new Admission('S/M', { concurrency: 1, queue: 2 }, observer);
    const release = await a.acquire(never(), undefined);
    const expired = new AbortController();
    const cancelled = new AbortController();
    let started = 0;
    const e = a.acquire(expired.signal, undefined).then(() => started++);
    const c = a.acquire(cancelled.signal, undefined).then(() => started++);
    const behind = a.acquire(never(), undefined);
    await expect(behind).rejects.toMatchObject({ reason: 'queue_full' }); // 2 waiting fill the queue
    expired.abort(new DeadlineExceededError());
    cancelled.abort(new CancelledError());
    await expect(e).rejects.toThrow(/deadline passed while waiting for a turn; the call was not started/);
    await expect(c).rejects.toBeInstanceOf(CancelledError);
    expect(a.state).toEqual({ running: 1, queued: 0 });
    const next = a.acquire(never(), undefined);
    release();
    (await next)();
    expect(started).toBe(0);
    expect(shed).toEqual(['queue_full', 'expired_in_queue', 'cancelled_in_queue']);
    expect(a.state).toEqual({ running: 0, queued: 0 });
  });

  it('refuses on arrival a call whose turn would take more than half the time it has left, from the recent service time', async () => {
    const t = clock();
    const { shed, observer } = recorder();
    const a = new Admission('S/M', { concurrency: 1, queue: 10 }, observer, t.now);
    // Teach it that one call holds its turn for 100 ms.
    const first = await a.acquire(never(), undefined);
    t.advance(100);
    first();
    const running = await a.acquire(never(), undefined);
    // One waits already: a newcomer's turn is ~200 ms away, and may take half the time the call has left.
    const waiting = a.acquire(never(), t.now() + 1000);
    const tooSoon = a.acquire(never(), t.now() + 399);
    await expect(tooSoon).rejects.toMatchObject({ reason: 'would_miss_deadline', retryAfterMs: 200 });
    const inTime = a.acquire(never(), t.now() + 400);
    expect(shed).toEqual(['would_miss_deadline']);
    running();
    (await waiting)();
    (await inTime)();
  });

  it('counts a call by its cost, capped at the concurrency so the largest call still runs alone; order is kept', async () => {
    const a = new Admission('S/M', { concurrency: 10, queue: 20 });
    const small = await a.acquire(never(), undefined, 3);
    const order: string[] = [];
    const big = a.acquire(never(), undefined, 1000).then((r) => (order.push('big'), r)); // takes all 10
    const after = a.acquire(never(), undefined, 1).then((r) => (order.push('after'), r)); // would fit now, but waits its turn
    await tick();
    expect(order).toEqual([]);
    expect(a.state).toEqual({ running: 3, queued: 11 });
    small();
    const releaseBig = await big;
    expect(a.state).toEqual({ running: 10, queued: 1 });
    releaseBig();
    (await after)();
    expect(order).toEqual(['big', 'after']);
    expect(a.state).toEqual({ running: 0, queued: 0 });
  });

  it('never runs more than its concurrency nor holds more than its queue, and settles every call (random schedules)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.oneof(fc.record({ op: fc.constant('acquire' as const), cost: fc.integer({ min: 1, max: 6 }) }), fc.constant({ op: 'release' as const }), fc.constant({ op: 'abort' as const })), { maxLength: 60 }),
        async (concurrency, queue, ops) => {
          const a = new Admission('S/M', { concurrency, queue });
          const held: Array<() => void> = [];
          const waiting: AbortController[] = [];
          const outcomes: Array<Promise<string>> = [];
          for (const step of ops) {
            if (step.op === 'acquire') {
              const controller = new AbortController();
              waiting.push(controller);
              outcomes.push(settled(a.acquire(controller.signal, undefined, step.cost).then((r) => void held.push(r))));
            } else if (step.op === 'release') held.shift()?.();
            else waiting.shift()?.abort(new CancelledError());
            await tick();
            expect(a.state.running).toBeLessThanOrEqual(concurrency);
            expect(a.state.queued).toBeLessThanOrEqual(queue);
          }
          for (const c of waiting) c.abort(new CancelledError());
          while (held.length > 0) {
            held.shift()!();
            await tick();
          }
          await Promise.all(outcomes);
          expect(a.state).toEqual({ running: 0, queued: 0 });
        },
      ),
      { numRuns: 200 },
    );
  });
});
