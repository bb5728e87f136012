/** Memory-bus specifics the contract suite cannot cover: retention and the duplicate window's bounds. */
import { createMemoryBus, type Delivery, type Subject } from '@ralm/platform/bus';
import { DuplicateWindow, MessageLog } from '@ralm/platform/bus/memory-log';

const subject: Subject<number> = {
  name: 'ralm.v1.test.counted',
  encode: (n) => new Uint8Array([n]),
  decode: (b) => b[0]!,
};

describe('MessageLog', () => {
  it('numbers messages 1, 2, 3… and keeps only the newest maxMessages', () => {
    const log = new MessageLog(3);
    for (let i = 0; i < 5; i++) log.append(i % 2 ? 'odd' : 'even', new Uint8Array([i]), {}, 0);
    expect([log.firstSeq, log.lastSeq]).toEqual([3, 5]);
    expect(log.get(2)).toBeUndefined();
    expect(log.get(4)?.data).toEqual(new Uint8Array([3]));
    expect(log.next('even', 1)?.seq).toBe(3);
    expect(log.next('odd', 5)).toBeUndefined();
  });

  it('stays consistent across compaction', () => {
    const log = new MessageLog(10);
    for (let i = 1; i <= 5000; i++) log.append('s', new Uint8Array(), {}, 0);
    expect([log.firstSeq, log.lastSeq]).toEqual([4991, 5000]);
    expect(log.get(4991)?.seq).toBe(4991);
    expect(log.get(5000)?.seq).toBe(5000);
  });
});

describe('DuplicateWindow', () => {
  it('forgets an id once the window has passed', () => {
    const window = new DuplicateWindow(1000, 100);
    expect(window.seen('a', 0)).toBe(false);
    expect(window.seen('a', 999)).toBe(true);
    expect(window.seen('a', 1000)).toBe(false);
  });

  it('remembers at most maxIds, oldest forgotten first', () => {
    const window = new DuplicateWindow(60_000, 2);
    for (const id of ['a', 'b', 'c']) window.seen(id, 0);
    expect(window.seen('c', 1)).toBe(true);
    expect(window.seen('a', 1)).toBe(false);
  });
});

describe('memory bus retention', () => {
  it('delivers only the messages still retained to a new durable', async () => {
    const bus = createMemoryBus({ maxMessages: 3 });
    try {
      for (let n = 1; n <= 5; n++) await bus.publish(subject, n);
      const got: Array<[number, Delivery['streamSeq']]> = [];
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      await bus.subscribe(subject, async (n, d) => {
        got.push([n, d.streamSeq]);
        if (got.length === 3) done();
      }, { durable: 'late' });
      await all;
      expect(got).toEqual([[3, 3], [4, 4], [5, 5]]);
    } finally {
      await bus.close();
    }
  });

  it('never runs a handler synchronously inside publish', async () => {
    const bus = createMemoryBus();
    let calls = 0;
    await bus.subscribe(subject, async () => void calls++, { durable: 'sync-check' });
    const publishing = bus.publish(subject, 1);
    expect(calls).toBe(0);
    await publishing;
    await bus.close();
  });
});

describe('DuplicateWindow against a brute-force oracle', () => {
  it('agrees with a list of (id, expiry) pairs over random publishes, expiries and evictions', () => {
    const windowMs = 50;
    const maxIds = 20;
    const window = new DuplicateWindow(windowMs, maxIds);
    let oracle: Array<{ id: string; expiresAt: number }> = [];
    let state = 42;
    const random = (n: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31) % n);
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += random(4);
      const id = `m${random(40)}`;
      oracle = oracle.filter((e) => e.expiresAt > now);
      const expected = oracle.some((e) => e.id === id);
      if (!expected) {
        oracle.push({ id, expiresAt: now + windowMs });
        if (oracle.length > maxIds) oracle.shift();
      }
      expect(window.seen(id, now)).toBe(expected);
    }
  });
});
