import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, createMemoryBus, createServiceMetrics, openMemoryBus, Subjects, type EventBus } from '@ralm/platform';
import { createMemoryStateStore } from '@ralm/platform/testing/memory-store';
import { loadSeedCollectorConfig } from '../src/config';
import { SeedBook, type Click } from '../src/domain/seed-book';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError } from '../src/domain/snapshot-codec';
import { registerCandidate } from '../src/handlers/register-candidate';
import { retireCandidate } from '../src/handlers/retire-candidate';
import { createSeedCollector, type SeedCollectorModule } from '../src/module';
import { SNAPSHOT_KEY } from '../src/persistence';

const NOW = 1_800_000_000_000;
const bookOptions = { seedCap: 5, dedupeCap: 10_000, maxFutureSkewMs: 60_000, maxClickAgeMs: 86_400_000 };

describe('seed-book snapshot codec', () => {
  it('round-trips seeds, event ids and header, unicode included', () => {
    const content = {
      header: {
        appliedSeq: 42,
        streamId: 'nats:RALM@2026-11-28T10:00:00Z',
        takenAtMs: NOW,
        candidates: [
          { candidateId: 'a', totalClicks: 3, lastClickAtMs: NOW - 5, seedVersion: 2, seedCount: 2 },
          { candidateId: 'ünïcødé-🎯', totalClicks: 0, lastClickAtMs: 0, seedVersion: 0, seedCount: 0 },
          { candidateId: 'c', totalClicks: 1, lastClickAtMs: NOW, seedVersion: 1, seedCount: 1 },
        ],
        seenEventCount: 3,
      },
      seeds: [['u1', 'ユーザー'], [], ['x'.repeat(300)]],
      seenEvents: ['e1', 'e2', 'é3'],
    };
    expect(decodeSnapshot(encodeSnapshot(content))).toEqual(content);
  });

  it('refuses foreign, truncated and padded bytes', () => {
    const bytes = encodeSnapshot({ header: { appliedSeq: 1, streamId: '', takenAtMs: 1, candidates: [{ candidateId: 'a', totalClicks: 1, lastClickAtMs: 1, seedVersion: 1, seedCount: 1 }], seenEventCount: 1 }, seeds: [['u']], seenEvents: ['e'] });
    expect(() => decodeSnapshot(new TextEncoder().encode('{"json":true}'))).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow(/checksum mismatch/);
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes);
    expect(() => decodeSnapshot(padded)).toThrow(/checksum mismatch/);
  });

  it('refuses a snapshot with any one byte changed (one digit of a user id decoded fine before the checksum)', () => {
    const content = { header: { appliedSeq: 9, streamId: 's', takenAtMs: 1, candidates: [{ candidateId: 'a', totalClicks: 2, lastClickAtMs: 1, seedVersion: 2, seedCount: 2 }], seenEventCount: 0 }, seeds: [['user-1001', 'user-1002']], seenEvents: [] };
    const bytes = encodeSnapshot(content);
    const at = Buffer.from(bytes).lastIndexOf(Buffer.from('user-1002')) + 8;
    for (const i of [at, 4, bytes.length - 1]) {
      const flipped = Uint8Array.from(bytes);
      flipped[i] = flipped[i]! ^ 0x01; // '2' -> '3' at `at`: still a valid id
      expect(() => decodeSnapshot(flipped)).toThrow(/checksum mismatch/);
    }
  });

  it('still reads the checksum-less format 1, so an upgrade keeps its seeds', () => {
    const content = { header: { appliedSeq: 3, streamId: 's', takenAtMs: 1, candidates: [{ candidateId: 'a', totalClicks: 1, lastClickAtMs: 1, seedVersion: 1, seedCount: 1 }], seenEventCount: 1 }, seeds: [['u']], seenEvents: ['e'] };
    const v2 = encodeSnapshot(content);
    const v1 = Uint8Array.from(v2.subarray(0, v2.length - 4));
    v1[3] = 0x31; // "RSB1"
    expect(decodeSnapshot(v1)).toEqual(content);
    expect(() => decodeSnapshot(v1.subarray(0, v1.length - 1))).toThrow(/truncated/);
  });
});

describe('SeedBook snapshot and restore', () => {
  const click = (i: number, user: string, candidateId = 'a'): Click => ({ eventId: `e${i}`, userId: user, candidateId, timestampMs: NOW - 10 });

  it('a restored book equals the original: seeds in recency order, counters, event-id memory', () => {
    const book = new SeedBook(bookOptions);
    book.register('a', 'news', ['x'], NOW - 100);
    book.register('b', 'sport', [], NOW - 100);
    for (let i = 0; i < 40; i++) book.apply(click(i, `u${(i * 7) % 11}`, i % 3 === 0 ? 'b' : 'a'), NOW);
    book.appliedSeq = 40;
    const restored = new SeedBook(bookOptions);
    for (const record of book.records()) restored.loadRecord(record);
    expect(restored.restore(decodeSnapshot(encodeSnapshot(book.snapshot(NOW))))).toEqual([]);
    for (const id of ['a', 'b']) {
      expect(restored.newestSeeds(id, 10)).toEqual(book.newestSeeds(id, 10));
      expect(restored.get(id)).toEqual(book.get(id));
    }
    expect(restored.appliedSeq).toBe(40);
    expect(restored.apply(click(3, 'u0', 'b'), NOW)).toEqual({ kind: 'duplicate' });
    expect(restored.takeDirty().sort()).toEqual(['a', 'b']);
  });

  it('judges a replayed click by when it entered: before retirement it counts, before registration it never did', () => {
    const book = new SeedBook(bookOptions);
    book.register('a', '', [], NOW);
    book.retire('a', 'done', NOW + 1000);
    expect(book.apply({ eventId: 'early', userId: 'u', candidateId: 'a', timestampMs: NOW }, NOW + 500).kind).toBe('applied');
    expect(book.apply({ eventId: 'late', userId: 'v', candidateId: 'a', timestampMs: NOW }, NOW + 1000)).toMatchObject({ rejection: { reason: 'retired_candidate' } });
    expect(book.apply({ eventId: 'before', userId: 'w', candidateId: 'a', timestampMs: NOW - 5 }, NOW - 1)).toMatchObject({ rejection: { reason: 'unknown_candidate' } });
  });

  it('expires candidates idle for the configured time, counting from the last click or the registration', () => {
    const book = new SeedBook(bookOptions);
    book.register('idle', '', [], NOW);
    book.register('busy', '', [], NOW);
    book.apply({ eventId: 'e', userId: 'u', candidateId: 'busy', timestampMs: NOW + 50_000 }, NOW + 50_000);
    expect(book.expireIdle(NOW + 59_999, 60_000)).toEqual([]);
    expect(book.expireIdle(NOW + 60_000, 60_000).map((r) => [r.candidateId, r.state])).toEqual([['idle', 'expired']]);
    expect(book.expireIdle(NOW + 110_000, 60_000).map((r) => r.candidateId)).toEqual(['busy']);
    expect(book.expireIdle(NOW + 999_999, 60_000)).toEqual([]);
  });
});

describe('SeedCollector restart (shared bus, as with JetStream)', () => {
  const waitFor = async (what: string, cond: () => boolean) => {
    for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  };
  let bus: EventBus;
  beforeEach(() => {
    bus = createMemoryBus({ now: () => NOW });
  });
  afterEach(() => bus.close());

  const config = loadSeedCollectorConfig({ SEED_CAP: '5', SNAPSHOT_INTERVAL_SECONDS: '3600' });
  const open = (data: Map<string, Uint8Array>) =>
    createSeedCollector(config, {
      bus,
      logger: createLogger('t', 'silent'),
      metrics: createServiceMetrics('seed-collector'),
      now: () => NOW,
      openStore: async () => createMemoryStateStore(data),
    });
  const publish = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const candidateId = i % 4 === 0 ? 'b' : 'a';
      // Every 10th click repeats an earlier event id without a bus msgId: only the book can drop it.
      const eventId = i % 10 === 9 ? `e${i - 5}` : `e${i}`;
      await bus.publish(Subjects.clickRecorded, { eventId, userId: `u${(i * 13) % 17}`, candidateId, timestampMs: NOW - 1 });
    }
  };
  const reference = (to: number) => {
    const book = new SeedBook({ ...bookOptions, seedCap: 5, dedupeCap: config.DEDUPE_CAP });
    book.register('a', '', [], NOW);
    book.register('b', '', [], NOW);
    for (let i = 0; i < to; i++) {
      const eventId = i % 10 === 9 ? `e${i - 5}` : `e${i}`;
      book.apply({ eventId, userId: `u${(i * 13) % 17}`, candidateId: i % 4 === 0 ? 'b' : 'a', timestampMs: NOW - 1 }, NOW);
    }
    return book;
  };
  const totalClicks = (m: SeedCollectorModule) => m.deps.book.get('a').totalClicks + m.deps.book.get('b').totalClicks;

  it('loses no acknowledged click when the last snapshot is older than the last ack', async () => {
    const live = new Map<string, Uint8Array>();
    let collector = await open(live);
    await collector.start!();
    for (const id of ['a', 'b']) await registerCandidate({ candidateId: id, category: '', tags: [] }, collector.deps);
    await publish(0, 100);
    await waitFor('100 clicks', () => totalClicks(collector) === reference(100).get('a').totalClicks + reference(100).get('b').totalClicks);
    await collector.stop!();
    // The store as a crash would leave it: its snapshot covers the first 100 clicks only…
    const crashed = new Map(live);
    // …while the service went on to acknowledge 100 more before dying.
    collector = await open(live);
    await collector.start!();
    await publish(100, 200);
    const ref200 = reference(200);
    await waitFor('200 clicks', () => totalClicks(collector) === ref200.get('a').totalClicks + ref200.get('b').totalClicks);
    await collector.stop!();

    const restarted = await open(crashed);
    await restarted.start!();
    await publish(200, 230);
    const ref = reference(230);
    await waitFor('replay and 30 new clicks', () => totalClicks(restarted) === ref.get('a').totalClicks + ref.get('b').totalClicks);
    for (const id of ['a', 'b']) {
      expect(restarted.deps.book.newestSeeds(id, 10)).toEqual(ref.newestSeeds(id, 10));
      expect(restarted.deps.book.get(id)).toMatchObject({ totalClicks: ref.get(id).totalClicks, seedVersion: ref.get(id).seedVersion });
    }
    await restarted.stop!();
    expect(crashed.has(SNAPSHOT_KEY)).toBe(true);
  });

  it('on a new stream (the embedded bus of a new process) keeps its seeds and reads the new stream from its start', async () => {
    const data = new Map<string, Uint8Array>();
    const first = await open(data);
    await first.start!();
    for (const id of ['a', 'b']) await registerCandidate({ candidateId: id, category: '', tags: [] }, first.deps);
    await publish(0, 50);
    await waitFor('50 clicks', () => totalClicks(first) === reference(50).get('a').totalClicks + reference(50).get('b').totalClicks);
    await first.stop!();
    const seedsBefore = first.deps.book.newestSeeds('a', 10);

    await bus.close();
    bus = createMemoryBus({ now: () => NOW });
    const second = await open(data);
    expect(second.deps.book.appliedSeq).toBe(0);
    expect(second.deps.book.newestSeeds('a', 10)).toEqual(seedsBefore);
    await second.start!();
    await bus.publish(Subjects.clickRecorded, { eventId: 'fresh-1', userId: 'newcomer', candidateId: 'a', timestampMs: NOW - 1 });
    await waitFor('the first click of the new stream', () => second.deps.book.newestSeeds('a', 1)[0] === 'newcomer');
    await second.stop!();
  });

  it('on a stream that lost its tail (a journal cut back) comes back to its end at once, and a crash after loses no new click', async () => {
    const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-lost-tail-'));
    try {
      await bus.close();
      bus = await openMemoryBus({ journalDir, now: () => NOW });
      const data = new Map<string, Uint8Array>();
      const first = await open(data);
      await first.start!();
      for (const id of ['a', 'b']) await registerCandidate({ candidateId: id, category: '', tags: [] }, first.deps);
      await publish(0, 50);
      const end = await bus.lastSeq(); // the clicks, after the registrations' events
      await waitFor('50 clicks', () => first.deps.book.appliedSeq === end);
      await first.stop!(); // snapshot at the end
      await bus.close();
      // The stream loses its tail: the journal is cut back to half (its torn last record is trimmed on open).
      const file = path.join(journalDir, 'journal');
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      bus = await openMemoryBus({ journalDir, now: () => NOW });
      const last = await bus.lastSeq();
      expect(last).toBeLessThan(end);
      const second = await open(data);
      await second.start!();
      expect(second.deps.book.appliedSeq).toBe(last);
      await bus.publish(Subjects.clickRecorded, { eventId: 'after-reset', userId: 'newcomer', candidateId: 'a', timestampMs: NOW - 1 });
      await waitFor('the first click after the reset', () => second.deps.book.newestSeeds('a', 1)[0] === 'newcomer');
      // A crash now (no stop(), no periodic snapshot yet): the restart replays from the rebased snapshot.
      await bus.close();
      bus = await openMemoryBus({ journalDir, now: () => NOW });
      const third = await open(data);
      await third.start!();
      await waitFor('the new click replayed', () => third.deps.book.newestSeeds('a', 1)[0] === 'newcomer');
      await third.stop!();
      await second.stop!().catch(() => undefined);
    } finally {
      fs.rmSync(journalDir, { recursive: true, force: true });
    }
  });

  it('keeps registrations and retirements across a restart', async () => {
    const data = new Map<string, Uint8Array>();
    const first = await open(data);
    await first.start!();
    await registerCandidate({ candidateId: 'a', category: 'news', tags: ['t1', 't2'] }, first.deps);
    await registerCandidate({ candidateId: 'b', category: 'sport', tags: [] }, first.deps);
    await retireCandidate({ candidateId: 'b', reason: 'season over' }, first.deps);
    // No stop(): registrations are durable when the RPC answers, snapshot or not.
    const second = await open(data);
    expect(second.deps.book.get('a')).toMatchObject({ category: 'news', tags: ['t1', 't2'], state: 'active' });
    expect(second.deps.book.get('b')).toMatchObject({ state: 'retired', retiredReason: 'season over' });
    await first.stop!();
  });

  it('refuses to start over a corrupted snapshot instead of silently rebuilding', async () => {
    const data = new Map<string, Uint8Array>([[SNAPSHOT_KEY, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])]]);
    await expect(open(data)).rejects.toThrow(SnapshotFormatError);
  });
});
