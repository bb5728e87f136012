import { createLogger, createMemoryBus, createServiceMetrics, Subjects, UnavailableError, type CallContext, type EventBus } from '@ralm/platform';
import { Metadata } from '@grpc/grpc-js';
import type { ListSeedsResponse } from '@ralm/proto/seed_collector';
import { loadSeedCollectorConfig } from '../src/config';
import { createSeedCollector, type SeedCollectorModule } from '../src/module';
import { getSeedStats } from '../src/handlers/get-seed-stats';
import { listSeeds } from '../src/handlers/list-seeds';
import { registerCandidate } from '../src/handlers/register-candidate';
import { reportClicks } from '../src/handlers/report-clicks';
import { retireCandidate } from '../src/handlers/retire-candidate';
import { streamClicks } from '../src/handlers/stream-clicks';
import { startSeedsAnnouncer } from '../src/click-consumer';
import { createMemoryStateStore } from '@ralm/platform/testing/memory-store';

const NOW = 1_800_000_000_000;
const ctx: CallContext = { method: 'test', signal: new AbortController().signal, deadlineMs: undefined, metadata: new Metadata(), throwIfDone() {} };

async function* messages<T>(...items: T[]): AsyncIterable<T> {
  yield* items;
}

describe('SeedCollector handlers (in-memory bus, no sockets)', () => {
  let bus: EventBus;
  let collector: SeedCollectorModule;
  const events: string[] = [];

  beforeEach(async () => {
    // The bus stamps appends with the same clock, so the consumer judges clicks by the test's time.
    bus = createMemoryBus({ now: () => NOW });
    const config = loadSeedCollectorConfig({ SEED_CAP: '3', SEEDS_UPDATED_INTERVAL_MS: '60000' });
    collector = await createSeedCollector(config, {
      bus,
      logger: createLogger('t', 'silent'),
      metrics: createServiceMetrics('seed-collector'),
      now: () => NOW,
      openStore: async () => createMemoryStateStore(),
    });
    events.length = 0;
    for (const subject of [Subjects.candidateRegistered, Subjects.candidateRetired]) {
      await bus.subscribe(subject, async (e) => void events.push(`${subject.name}:${e.candidate!.candidateId}`), { durable: 'probe' });
    }
    await collector.start!();
  });
  afterEach(async () => {
    await collector.stop!();
    await bus.close();
  });

  const deps = () => collector.deps;
  const click = (eventId: string, userId: string, candidateId = 'c1') => ({ eventId, userId, candidateId, timestampMs: NOW - 1 });
  const applied = async (n: number) => {
    for (let i = 0; i < 500 && deps().book.get('c1').totalClicks < n; i++) await new Promise((r) => setImmediate(r));
    return deps().book.get('c1').totalClicks;
  };

  it('registers, announces and re-registers a candidate idempotently; tags are validated', async () => {
    await expect(registerCandidate({ candidateId: 'c1', category: 'news', tags: ['x'] }, deps())).resolves.toMatchObject({ created: true });
    await expect(registerCandidate({ candidateId: 'c1', category: 'sport', tags: [] }, deps())).resolves.toMatchObject({
      created: false,
      candidate: { category: 'sport', tags: [] },
    });
    await expect(registerCandidate({ candidateId: 'c2', category: '', tags: ['a', 'a'] }, deps())).rejects.toMatchObject({ field: 'tags[1]' });
    await expect(registerCandidate({ candidateId: '', category: '', tags: [] }, deps())).rejects.toMatchObject({ field: 'candidate_id' });
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['ralm.v1.candidate.registered:c1', 'ralm.v1.candidate.registered:c1']);
  });

  it('accepts valid clicks, reports duplicates and rejections per click, and applies them once', async () => {
    await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps());
    const first = await reportClicks({ clicks: [click('e1', 'u1'), click('e2', 'u2'), click('e1', 'u1'), click('e3', 'u3', 'nope')] }, deps(), ctx);
    expect(first).toEqual({
      accepted: 2,
      duplicates: 1,
      rejections: [{ index: 3, eventId: 'e3', field: 'candidate_id', reason: "candidate 'nope' is not registered" }],
    });
    expect(await applied(2)).toBe(2);
    const again = await reportClicks({ clicks: [click('e2', 'u2'), click('e4', 'u4')] }, deps(), ctx);
    expect(again).toMatchObject({ accepted: 1, duplicates: 1 });
    await expect(reportClicks({ clicks: [] }, deps(), ctx)).rejects.toMatchObject({ field: 'clicks' });
  });

  it('keeps earlier stream messages when a later one is invalid, and locates the bad message', async () => {
    await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps());
    const stream = messages({ clicks: [click('s1', 'u1'), click('s2', 'u2')] }, { clicks: [] });
    await expect(streamClicks(stream, deps(), ctx)).rejects.toMatchObject({ field: 'message[1].clicks', message: 'message[1].clicks: must not be empty' });
    expect(await applied(2)).toBe(2);
    await expect(streamClicks(messages({ clicks: [click('s3', 'u3')] }, { clicks: [click('s3', 'u3'), click('s4', '')] }), deps(), ctx)).resolves.toEqual({
      accepted: 1,
      duplicates: 1,
      rejected: 1,
    });
  });

  it('reports seed stats and lists seeds newest first, capped', async () => {
    await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps());
    await reportClicks({ clicks: ['u1', 'u2', 'u3', 'u4', 'u2'].map((u, i) => click(`e${i}`, u)) }, deps(), ctx);
    expect(await applied(5)).toBe(5);
    await expect(getSeedStats({ candidateId: 'c1' }, deps())).resolves.toMatchObject({ seedCount: 3, seedCap: 3, totalClicks: 5, seedVersion: 4 });
    const chunks: ListSeedsResponse[] = [];
    await listSeeds({ candidateId: 'c1', limit: 0 }, deps(), ctx, async (c) => void chunks.push(c));
    expect(chunks).toEqual([{ userIds: ['u2', 'u4', 'u3'], seedVersion: 4, total: 3 }]);
    await expect(listSeeds({ candidateId: 'c1', limit: 4 }, deps(), ctx, async () => {})).rejects.toMatchObject({ field: 'limit' });
    await expect(getSeedStats({ candidateId: 'zzz' }, deps())).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('retires a candidate once: later clicks are rejected and re-registration is refused', async () => {
    await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps());
    const { candidate } = await retireCandidate({ candidateId: 'c1', reason: 'expired campaign' }, deps());
    expect(candidate).toMatchObject({ state: 2, retiredReason: 'expired campaign', retiredAtMs: NOW });
    await expect(retireCandidate({ candidateId: 'c1', reason: 'again' }, deps())).resolves.toMatchObject({ candidate: { retiredReason: 'expired campaign' } });
    await expect(reportClicks({ clicks: [click('r1', 'u1')] }, deps(), ctx)).resolves.toMatchObject({ accepted: 0, rejections: [{ field: 'candidate_id' }] });
    await expect(registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps())).rejects.toMatchObject({ name: 'FailedPreconditionError' });
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['ralm.v1.candidate.registered:c1', 'ralm.v1.candidate.retired:c1']);
  });

  it('publishes candidate.retired again when a retire is retried after a failed publish', async () => {
    await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps());
    jest.spyOn(bus, 'publish').mockRejectedValueOnce(new UnavailableError('bus down'));
    await expect(retireCandidate({ candidateId: 'c1', reason: 'done' }, deps())).rejects.toBeInstanceOf(UnavailableError);
    expect(deps().book.get('c1').state).toBe('retired');
    await expect(retireCandidate({ candidateId: 'c1', reason: 'done' }, deps())).resolves.toMatchObject({ candidate: { state: 2 } });
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['ralm.v1.candidate.registered:c1', 'ralm.v1.candidate.retired:c1']);
  });

  it('announces seeds.updated once per changed candidate per period, however many clicks arrived', async () => {
    const updates: Array<{ candidateId: string; seedCount: number; seedVersion: number }> = [];
    await bus.subscribe(Subjects.seedsUpdated, async (e) => void updates.push({ candidateId: e.candidateId, seedCount: e.seedCount, seedVersion: e.seedVersion }), {
      durable: 'probe',
    });
    await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, deps());
    await reportClicks({ clicks: Array.from({ length: 50 }, (_, i) => click(`a${i}`, `u${i % 10}`)) }, deps(), ctx);
    expect(await applied(50)).toBe(50);
    const announcer = startSeedsAnnouncer(deps(), createLogger('t', 'silent'));
    await announcer.flush();
    await announcer.flush(); // nothing changed since: nothing to say
    await announcer.stop();
    for (let i = 0; i < 100 && updates.length < 1; i++) await new Promise((r) => setImmediate(r));
    // Ten users in rotation through a cap of 3: every click brings back an evicted user, so the
    // membership changed 50 times, and all 50 changes make one announcement.
    expect(updates).toEqual([{ candidateId: 'c1', seedCount: 3, seedVersion: 50 }]);
  });
});

describe('SeedCollector click consumer', () => {
  it('announces a candidate the moment it reaches the servable minimum, without waiting for the period', async () => {
    const bus = createMemoryBus({ now: () => NOW });
    const config = loadSeedCollectorConfig({ SERVABLE_MIN_SEEDS: '3', SEEDS_UPDATED_INTERVAL_MS: '3600000' });
    const collector = await createSeedCollector(config, {
      bus,
      logger: createLogger('t', 'silent'),
      metrics: createServiceMetrics('seed-collector'),
      now: () => NOW,
      openStore: async () => createMemoryStateStore(),
    });
    const announced = new Promise<{ seedCount: number }>((resolve) => void bus.subscribe(Subjects.seedsUpdated, async (e) => resolve(e), { durable: 'probe' }));
    try {
      await collector.start!();
      await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, collector.deps);
      const clicks = ['u1', 'u2', 'u3'].map((u, i) => ({ eventId: `e${i}`, userId: u, candidateId: 'c1', timestampMs: NOW - 1 }));
      await reportClicks({ clicks }, collector.deps, ctx);
      // The period is an hour: only the threshold can have sent this.
      await expect(announced).resolves.toMatchObject({ candidateId: 'c1', seedCount: 3, seedVersion: 3 });
    } finally {
      await collector.stop!();
      await bus.close();
    }
  });


  it('applies a click the gRPC path accepted even when the consumer runs long after', async () => {
    const DAY = 86_400_000;
    let now = NOW;
    const bus = createMemoryBus({ now: () => now });
    const config = loadSeedCollectorConfig({ CLICK_MAX_AGE_SECONDS: String(DAY / 1000) });
    const collector = await createSeedCollector(config, {
      bus,
      logger: createLogger('t', 'silent'),
      metrics: createServiceMetrics('seed-collector'),
      now: () => now,
      openStore: async () => createMemoryStateStore(),
    });
    try {
      const d = collector.deps;
      await registerCandidate({ candidateId: 'c1', category: '', tags: [] }, d);
      const report = await reportClicks({ clicks: [{ eventId: 'late-1', userId: 'u1', candidateId: 'c1', timestampMs: NOW - 1000 }] }, d, ctx);
      expect(report.accepted).toBe(1);
      // The consumer starts three days later: by its own clock the click is far outside the window.
      now = NOW + 3 * DAY;
      await collector.start!();
      for (let i = 0; i < 500 && d.book.get('c1').totalClicks < 1; i++) await new Promise((r) => setImmediate(r));
      expect(d.book.get('c1').totalClicks).toBe(1);
      expect(d.book.newestSeeds('c1', 10)).toEqual(['u1']);
    } finally {
      await collector.stop!();
      await bus.close();
    }
  });
});
