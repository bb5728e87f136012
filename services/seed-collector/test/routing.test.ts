/**
 * The partitioned collector's routing, two replicas in one process on one memory bus: a call
 * made to the replica that does not own the candidate gives what the owner gives (the
 * owner's own handler is the oracle), typed errors included; a mixed batch is split and its
 * rejections come back at the caller's indices; a listing of more than one chunk is one
 * snapshot.
 */
import { Metadata } from '@grpc/grpc-js';
import { createLogger, createMemoryBus, createServiceMetrics, partitionOf, type CallContext, type EventBus } from '@ralm/platform';
import { createMemoryStateStore } from '@ralm/platform/testing/memory-store';
import type { ListSeedsResponse } from '@ralm/proto/seed_collector';
import { loadSeedCollectorConfig } from '../src/config';
import { getSeedStats } from '../src/handlers/get-seed-stats';
import { createSeedCollector, type SeedCollectorModule } from '../src/module';

const NOW = 1_800_000_000_000;
const ctx: CallContext = { method: 'test', signal: new AbortController().signal, deadlineMs: undefined, metadata: new Metadata(), throwIfDone() {} };
/** The first ids of the form `c-<n>` that fall in partition `k` of 2. */
const idsIn = (k: number, count: number) => Array.from({ length: 200 }, (_, i) => `c-${i}`).filter((id) => partitionOf(id, 2) === k).slice(0, count);

describe('config of a partitioned replica', () => {
  it('takes its ordinal from SEED_ORDINAL or the end of HOSTNAME, and refuses what cannot work', () => {
    expect(loadSeedCollectorConfig({ SEED_PARTITIONS: '12', SEED_REPLICAS: '3', HOSTNAME: 'ralm-seed-collector-2' }).SEED_ORDINAL).toBe(2);
    expect(loadSeedCollectorConfig({ SEED_PARTITIONS: '12', SEED_REPLICAS: '3', SEED_ORDINAL: '1', HOSTNAME: 'x-2' }).SEED_ORDINAL).toBe(1);
    expect(loadSeedCollectorConfig({}).SEED_ORDINAL).toBe(0);
    expect(() => loadSeedCollectorConfig({ SEED_PARTITIONS: '12', SEED_REPLICAS: '3', HOSTNAME: 'laptop' })).toThrow(/SEED_ORDINAL: is unset and HOSTNAME 'laptop' ends in no ordinal below SEED_REPLICAS \(3\)/);
    expect(() => loadSeedCollectorConfig({ SEED_PARTITIONS: '12', SEED_REPLICAS: '3', HOSTNAME: 'ralm-seed-collector-3' })).toThrow(/SEED_ORDINAL/);
    expect(() => loadSeedCollectorConfig({ SEED_PARTITIONS: '2', SEED_REPLICAS: '3', SEED_ORDINAL: '0' })).toThrow(/SEED_REPLICAS: is 3, more than SEED_PARTITIONS \(2\)/);
    expect(() => loadSeedCollectorConfig({ SEED_PARTITIONS: '4', SEED_REPLICAS: '2', SEED_ORDINAL: '2' })).toThrow(/SEED_ORDINAL: must be below SEED_REPLICAS/);
  });
});

describe('two replicas of a two-partition collector', () => {
  let bus: EventBus;
  let a: SeedCollectorModule;
  let b: SeedCollectorModule;

  const replica = (ordinal: number, seedCap = '30000') =>
    createSeedCollector(loadSeedCollectorConfig({ SEED_PARTITIONS: '2', SEED_REPLICAS: '2', SEED_ORDINAL: String(ordinal), SEED_CAP: seedCap, SEEDS_UPDATED_INTERVAL_MS: '60000' }), {
      bus,
      logger: createLogger('t', 'silent'),
      metrics: createServiceMetrics('seed-collector'),
      now: () => NOW,
      openStore: async () => createMemoryStateStore(),
    });

  beforeEach(async () => {
    bus = createMemoryBus({ now: () => NOW });
    a = await replica(0);
    b = await replica(1);
    await a.start!();
    await b.start!();
  });
  afterEach(async () => {
    await a.stop!();
    await b.stop!();
    await bus.close();
  });

  it('owns one partition each', () => {
    expect([...a.partitions.keys()]).toEqual([0]);
    expect([...b.partitions.keys()]).toEqual([1]);
  });

  it('answers a call about the other replica’s candidate as its owner does, typed errors included', async () => {
    const [theirs] = idsIn(1, 1);
    await expect(a.router.registerCandidate({ candidateId: theirs!, category: 'news', tags: ['t'] })).resolves.toMatchObject({ created: true, candidate: { candidateId: theirs, category: 'news' } });
    // Held by the owner only.
    expect(b.partitions.get(1)!.book.get(theirs!).category).toBe('news');
    await expect(a.router.getSeedStats({ candidateId: theirs! })).resolves.toEqual(await getSeedStats({ candidateId: theirs! }, b.partitions.get(1)!));
    const remote = await a.router.getSeedStats({ candidateId: idsIn(1, 2)[1]! }).catch((e: Error) => e);
    const local = await b.router.getSeedStats({ candidateId: idsIn(1, 2)[1]! }).catch((e: Error) => e);
    expect(remote).toMatchObject({ name: 'NotFoundError', message: (local as Error).message });
    await a.router.retireCandidate({ candidateId: theirs!, reason: 'done' });
    await expect(a.router.registerCandidate({ candidateId: theirs!, category: '', tags: [] })).rejects.toMatchObject({ name: 'FailedPreconditionError', message: expect.stringMatching(/is retired; candidate ids are never reused/) });
    await expect(a.router.registerCandidate({ candidateId: idsIn(1, 3)[2]!, category: '', tags: ['x', 'x'] })).rejects.toMatchObject({ name: 'InvalidArgumentError', field: 'tags[1]' });
  });

  it('splits a mixed batch by partition and returns its rejections at the caller’s indices', async () => {
    const [mine] = idsIn(0, 1);
    const [theirs, unregistered] = idsIn(1, 2);
    for (const id of [mine!, theirs!]) await b.router.registerCandidate({ candidateId: id, category: '', tags: [] });
    const clicks = [
      { eventId: 'e0', userId: 'u0', candidateId: theirs!, timestampMs: NOW - 1 },
      { eventId: 'e1', userId: 'u1', candidateId: mine!, timestampMs: NOW - 1 },
      { eventId: 'e2', userId: 'u2', candidateId: unregistered!, timestampMs: NOW - 1 },
      { eventId: 'e3', userId: 'u3', candidateId: mine!, timestampMs: -5 },
      { eventId: 'e4', userId: 'u4', candidateId: theirs!, timestampMs: NOW - 1 },
    ];
    const result = await a.router.ingest(clicks, ctx);
    expect(result.accepted).toBe(3);
    expect(result.rejections.map((r) => [r.index, r.eventId, r.field])).toEqual([
      [2, 'e2', 'candidate_id'],
      [3, 'e3', 'timestamp_ms'],
    ]);
    for (let i = 0; i < 500 && b.partitions.get(1)!.book.get(theirs!).totalClicks < 2; i++) await new Promise((r) => setImmediate(r));
    expect(b.partitions.get(1)!.book.newestSeeds(theirs!, 10)).toEqual(['u4', 'u0']);
    expect(a.partitions.get(0)!.book.newestSeeds(mine!, 10)).toEqual(['u1']);
  });

  it('counts the seed clicks of feedback over both partitions (each part added, not the last one only)', async () => {
    const [mine] = idsIn(0, 1);
    const [theirs] = idsIn(1, 1);
    for (const id of [mine!, theirs!]) await a.router.registerCandidate({ candidateId: id, category: '', tags: [] });
    const clicks = [mine!, theirs!, theirs!, 'not-registered'].map((candidateId, i) => ({ eventId: `f${i}`, userId: `u${i}`, candidateId, timestampMs: NOW - 1 }));
    await expect(a.router.seedClicks(clicks, ctx)).resolves.toBe(3);
  });

  it('keeps every forwarded listing chunk under the bus payload, however long the user ids', async () => {
    const [theirs] = idsIn(1, 1);
    await b.router.registerCandidate({ candidateId: theirs!, category: '', tags: [] });
    // 250-byte ids: 10,000 of them would be a 2.5 MB answer, over NATS's 1 MiB.
    const clicks = Array.from({ length: 6_000 }, (_, i) => ({ eventId: `long${i}`, userId: `${'u'.repeat(244)}${String(i).padStart(6, '0')}`, candidateId: theirs!, timestampMs: NOW - 1 }));
    for (let i = 0; i < clicks.length; i += 1_500) await a.router.ingest(clicks.slice(i, i + 1_500), ctx);
    const owner = b.partitions.get(1)!.book;
    for (let i = 0; i < 5000 && owner.get(theirs!).totalClicks < clicks.length; i++) await new Promise((r) => setImmediate(r));
    const chunks: ListSeedsResponse[] = [];
    await a.router.listSeeds({ candidateId: theirs!, limit: 0 }, ctx, async (c) => void chunks.push(c));
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(JSON.stringify(c.userIds).length).toBeLessThan(1024 * 1024);
    expect(chunks.flatMap((c) => c.userIds)).toEqual(owner.newestSeeds(theirs!, 30_000));
  });

  it('lists more than one chunk of the other replica’s seeds as one snapshot, equal to the owner’s own listing', async () => {
    const [theirs] = idsIn(1, 1);
    await b.router.registerCandidate({ candidateId: theirs!, category: '', tags: [] });
    const clicks = Array.from({ length: 25_000 }, (_, i) => ({ eventId: `s${i}`, userId: `user-${i}`, candidateId: theirs!, timestampMs: NOW - 1 }));
    for (let i = 0; i < clicks.length; i += 10_000) await a.router.ingest(clicks.slice(i, i + 10_000), ctx);
    const owner = b.partitions.get(1)!.book;
    for (let i = 0; i < 5000 && owner.get(theirs!).totalClicks < 25_000; i++) await new Promise((r) => setImmediate(r));
    const listing = async (m: SeedCollectorModule) => {
      const chunks: ListSeedsResponse[] = [];
      await m.router.listSeeds({ candidateId: theirs!, limit: 0 }, ctx, async (c) => void chunks.push(c));
      return chunks;
    };
    const remote = await listing(a);
    expect(remote.map((c) => c.userIds.length)).toEqual([10_000, 10_000, 5_000]);
    expect(remote).toEqual(await listing(b));
    expect(new Set(remote.map((c) => c.seedVersion)).size).toBe(1);
    expect(remote[0]!.userIds[0]).toBe('user-24999');
  });
});
