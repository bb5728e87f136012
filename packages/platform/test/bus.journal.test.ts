/** The embedded bus's journal: what survives a restart, a torn write, and retention. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JournalCorruptError, openMemoryBus, repairJournal, type Delivery, type EventBus, type Subject } from '@ralm/platform/bus';

const subject: Subject<string> = {
  name: 'ralm.v1.test.journaled',
  encode: (s) => new TextEncoder().encode(s),
  decode: (b) => new TextDecoder().decode(b),
};

async function drain(bus: EventBus, durable: string, count: number, options: { startSeq?: number } = {}): Promise<Array<[string, Delivery]>> {
  const got: Array<[string, Delivery]> = [];
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const sub = await bus.subscribe(subject, async (m, d) => {
    got.push([m, d]);
    if (got.length === count) done();
  }, { durable, ...options });
  await all;
  await sub.stop();
  return got;
}

describe('journaled memory bus', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-journal-'));
  });

  it('gives a new process the same stream: ids, sequences, payloads and publish times', async () => {
    const first = await openMemoryBus({ journalDir: dir });
    for (let i = 0; i < 50; i++) await first.publish(subject, `m${i}`);
    const before = await drain(first, 'reader', 50);
    await first.close();

    const second = await openMemoryBus({ journalDir: dir });
    expect(second.streamId).toBe(first.streamId);
    const after = await drain(second, 'reader', 30, { startSeq: before[20]![1].streamSeq });
    expect(after.map(([m]) => m)).toEqual(before.slice(20).map(([m]) => m));
    expect(after.map(([, d]) => [d.streamSeq, d.publishedAtMs])).toEqual(before.slice(20).map(([, d]) => [d.streamSeq, d.publishedAtMs]));
    await second.publish(subject, 'next');
    const [[, next]] = await drain(second, 'tail', 1, { startSeq: before[49]![1].streamSeq + 1 });
    expect(next.streamSeq).toBe(before[49]![1].streamSeq + 1);
    await second.close();
  });

  it('cuts off a record torn by a crash mid-write and keeps everything before it', async () => {
    const bus = await openMemoryBus({ journalDir: dir });
    for (let i = 0; i < 10; i++) await bus.publish(subject, `m${i}`);
    await bus.close();
    const file = path.join(dir, 'journal');
    fs.truncateSync(file, fs.statSync(file).size - 3);
    const reopened = await openMemoryBus({ journalDir: dir });
    expect((await drain(reopened, 'r', 9)).map(([m]) => m)).toEqual(Array.from({ length: 9 }, (_, i) => `m${i}`));
    await reopened.publish(subject, 'after-crash');
    await reopened.close();
    const again = await openMemoryBus({ journalDir: dir });
    expect((await drain(again, 'r', 10)).map(([m]) => m).at(-1)).toBe('after-crash');
    await again.close();
  });

  it('refuses to start on a record damaged inside the file, naming file and offset, and truncates nothing', async () => {
    const bus = await openMemoryBus({ journalDir: dir });
    for (let i = 0; i < 20; i++) await bus.publish(subject, `payload-${i}`);
    await bus.close();
    const file = path.join(dir, 'journal');
    const pristine = fs.readFileSync(file);
    const at = pristine.indexOf('payload-7');
    for (const [what, damage] of [
      ['one changed character', (b: Buffer) => void (b[at + 8] = 'X'.charCodeAt(0))],
      // The length field of record 7: read alone it looks like a torn tail, but intact records follow.
      ['a corrupted length field', (b: Buffer) => b.writeUInt32LE(0x7fff_ffff, b.lastIndexOf(Buffer.from('{"seq":8'), at) - 12)],
    ] as const) {
      const bytes = Buffer.from(pristine);
      damage(bytes);
      fs.writeFileSync(file, bytes);
      await expect(openMemoryBus({ journalDir: dir })).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt at byte \\d+`));
      expect(fs.statSync(file).size).toBe(pristine.length); // what, no truncation
      void what;
    }
  });

  it('`repairJournal` keeps every intact record around the damage, with the stream id and the sequence numbers', async () => {
    const bus = await openMemoryBus({ journalDir: dir });
    const streamId = bus.streamId;
    for (let i = 0; i < 30; i++) await bus.publish(subject, `payload-${i}`);
    await bus.close();
    const file = path.join(dir, 'journal');
    const bytes = fs.readFileSync(file);
    for (const i of [7, 8, 20]) bytes[bytes.indexOf(`payload-${i}`) + 8] = 'X'.charCodeAt(0);
    fs.writeFileSync(file, bytes);
    await expect(openMemoryBus({ journalDir: dir })).rejects.toBeInstanceOf(JournalCorruptError);
    const report = await repairJournal(dir, new Date('2026-12-03T08:00:00Z'));
    expect(report).toMatchObject({ kept: 27, lostSeqs: [[8, 9], [21, 21]], movedTo: `${file}.damaged-2026-12-03T08-00-00-000Z` });
    expect(report.damagedBytes).toHaveLength(2);
    expect(fs.readFileSync(report.movedTo!)).toEqual(bytes); // the original, kept as it was
    const repaired = await openMemoryBus({ journalDir: dir });
    expect(repaired.streamId).toBe(streamId);
    const got = await drain(repaired, 'after-repair', 27);
    expect(got.map(([m, d]) => [m, d.streamSeq]).slice(6, 9)).toEqual([
      ['payload-6', 7],
      ['payload-9', 10],
      ['payload-10', 11],
    ]);
    expect(got.map(([m]) => m)).not.toContain('payload-20');
    expect(await repaired.lastSeq()).toBe(30);
    await repaired.close();
    await expect(repairJournal(dir)).resolves.toMatchObject({ movedTo: undefined }); // intact now: left alone
  });

  it('a short write on a full disk is cut back: the failed publish is refused and the next lands right after the last intact record', async () => {
    const bus = await openMemoryBus({ journalDir: dir });
    await bus.publish(subject, 'before');
    const file = path.join(dir, 'journal');
    const intact = fs.statSync(file).size;
    const handle = await fs.promises.open(path.join(dir, 'journal'), 'r');
    const proto = Object.getPrototypeOf(handle) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
    await handle.close();
    const write = proto.write;
    let calls = 0;
    proto.write = async function (this: unknown, buffer: unknown, offset: unknown, length: unknown) {
      calls++;
      // First call: half the bytes reach the disk; second: the disk is full.
      if (calls === 1) return write.call(this, buffer, offset, Math.max(1, Math.floor((length as number) / 2)));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    try {
      // Three publishes in one flush, all refused; the retry of one (same msgId) must not pass for a duplicate.
      const refused = await Promise.allSettled(['x'.repeat(1000), 'y', 'z'].map((m, i) => bus.publish(subject, m, { msgId: `m${i}` })));
      expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/ENOSPC/);
    } finally {
      proto.write = write;
    }
    expect(fs.statSync(file).size).toBe(intact); // the half-written record is gone
    // A full disk takes the bus down (health NOT_SERVING) until there is room again: here a
    // write succeeds at once, as the real disk has room.
    expect(bus.isConnected()).toBe(false);
    await expect(bus.publish(subject, 'retried', { msgId: 'm1' })).resolves.toEqual({ duplicate: false });
    expect(bus.isConnected()).toBe(true);
    await bus.publish(subject, 'after');
    await bus.close();
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(intact).includes('after')).toBe(true);
    expect(bytes.subarray(intact).includes('xxxx')).toBe(false);
    // The refused sequence numbers were handed out again: a restart reads an unbroken stream.
    const reopened = await openMemoryBus({ journalDir: dir });
    const got = await drain(reopened, 'after-refusal', 3);
    expect(got.map(([text, d]) => [text, d.streamSeq])).toEqual([
      ['before', 1],
      ['retried', 2],
      ['after', 3],
    ]);
    await reopened.close();
  });

  it('a disk that refused a write for room brings the bus back up by itself once statfs shows room, with no publish needed', async () => {
    const bus = await openMemoryBus({ journalDir: dir });
    await bus.publish(subject, 'before');
    const handle = await fs.promises.open(path.join(dir, 'journal'), 'r');
    const proto = Object.getPrototypeOf(handle) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
    await handle.close();
    const write = proto.write;
    proto.write = async () => {
      throw Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' });
    };
    try {
      await expect(bus.publish(subject, 'refused')).rejects.toThrow(/EDQUOT/);
    } finally {
      proto.write = write;
    }
    expect(bus.isConnected()).toBe(false);
    // This disk has room: the next probe (every 2 s) sees it.
    for (let i = 0; i < 60 && !bus.isConnected(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(bus.isConnected()).toBe(true);
    await bus.close();
  });

  it('rewrites the file to what retention keeps, without losing a concurrent publish', async () => {
    const bus = await openMemoryBus({ journalDir: dir, maxMessages: 1000 });
    // Publishes in flight together: compaction starts while some still wait for their flush.
    for (let round = 0; round < 25; round++) await Promise.all(Array.from({ length: 1000 }, (_, i) => bus.publish(subject, `r${round}-${i}`)));
    await bus.close();
    expect(fs.statSync(path.join(dir, 'journal')).size).toBeLessThan(25 * 1000 * 60);
    const reopened = await openMemoryBus({ journalDir: dir, maxMessages: 1000 });
    const kept = await drain(reopened, 'r', 1000);
    expect(kept[0]![0]).toBe('r24-0');
    expect(kept.at(-1)![0]).toBe('r24-999');
    expect(kept.at(-1)![1].streamSeq).toBe(25_000);
    await reopened.close();
  });
});
