import { createLogger, createMemoryBus, createServiceMetrics, InvalidArgumentError, Subjects, UnavailableError, type CallContext, type EventBus } from '@ralm/platform';
import { Metadata } from '@grpc/grpc-js';
import { ArmAssigner, exactMeasures, experimentFromConfig, type FeedbackEvent } from '@ralm/experiment';
import { FeedbackKind, type FeedbackEvent as FeedbackEventProto } from '@ralm/proto/feedback';
import { createMemoryStateStore } from '@ralm/platform/testing/memory-store';
import { loadSeedCollectorConfig } from '../src/config';
import { createSeedCollector, type SeedCollectorModule } from '../src/module';
import { registerCandidate } from '../src/handlers/register-candidate';
import { reportFeedback } from '../src/handlers/report-feedback';
import { promtoolCheckMetrics } from '../../../tests/support/promtool';

const HOUR = 3_600_000;
const ctx: CallContext = { method: 'test', signal: new AbortController().signal, deadlineMs: undefined, metadata: new Metadata(), throwIfDone() {} };
const ARMS = 'control:50,treatment:50';

describe('FeedbackService intake and the A/B window (in-memory bus)', () => {
  let now = 1_800_000_000_000;
  let bus: EventBus;
  let collector: SeedCollectorModule;
  let metrics: ReturnType<typeof createServiceMetrics>;
  const config = loadSeedCollectorConfig({ EXPERIMENT_ARMS: ARMS, EXPERIMENT_SALT: 's1' });
  const assigner = new ArmAssigner(experimentFromConfig(config));

  const start = async () => {
    metrics = createServiceMetrics('seed-collector');
    collector = await createSeedCollector(config, { bus, logger: createLogger('t', 'silent'), metrics, now: () => now, openStore: async () => createMemoryStateStore() });
    await collector.start!();
  };
  beforeEach(async () => {
    now = 1_800_000_000_000;
    bus = createMemoryBus({ now: () => now });
    await start();
  });
  afterEach(async () => {
    await collector.stop!();
    await bus.close();
  });

  const deps = () => collector.deps;
  const ev = (eventId: string, userId: string, itemId: string, kind: 'exposure' | 'click', extra: Partial<FeedbackEventProto> = {}): FeedbackEventProto => ({
    eventId,
    userId,
    itemId,
    kind: kind === 'click' ? FeedbackKind.FEEDBACK_KIND_CLICK : FeedbackKind.FEEDBACK_KIND_EXPOSURE,
    arm: '',
    timestampMs: now - 1000,
    category: `cat-${itemId.length % 3}`,
    tags: [`t-${itemId}`],
    ...extra,
  });
  const counted = async (n: number) => {
    const total = () => [...deps().ab.measures(now).values()].reduce((s, m) => s + m.exposureEvents + m.clicks, 0);
    for (let i = 0; i < 1000 && total() < n; i++) await new Promise((r) => setImmediate(r));
    return total();
  };
  const asDomain = (e: FeedbackEventProto): FeedbackEvent => ({ ...e, kind: e.kind === FeedbackKind.FEEDBACK_KIND_CLICK ? 'click' : 'exposure', arm: e.arm || assigner.assign(e.userId) });

  it('counts accepted feedback per arm exactly as the oracle, resolving missing arms by the scorer\'s hash', async () => {
    const batch: FeedbackEventProto[] = [];
    for (let u = 0; u < 40; u++) {
      for (let i = 0; i < 5; i++) {
        batch.push(ev(`x-${u}-${i}`, `user${u}`, `item${(u * 7 + i) % 13}`, 'exposure'));
        if ((u + i) % 3 === 0) batch.push(ev(`c-${u}-${i}`, `user${u}`, `item${(u * 7 + i) % 13}`, 'click', { arm: u % 4 === 0 ? assigner.assign(`user${u}`) : '' }));
      }
    }
    await expect(reportFeedback({ events: batch }, deps(), ctx)).resolves.toEqual({ accepted: batch.length, duplicates: 0, seedClicks: 0 });
    expect(await counted(batch.length)).toBe(batch.length);
    const got = deps().ab.measures(now);
    const oracle = exactMeasures(batch.map(asDomain));
    expect([...got.keys()].sort()).toEqual(['control', 'treatment']);
    for (const [arm, o] of oracle) {
      const g = got.get(arm)!;
      expect(g).toMatchObject({ exposureEvents: o.exposureEvents, clicks: o.clicks });
      expect(g.ctr).toBeCloseTo(o.ctr, 12);
      expect(g.exposures).toBeCloseTo(o.exposures, -1);
      expect(g.categoryDiversity).toEqual(o.categoryDiversity);
      expect(g.tagDiversity).toEqual(o.tagDiversity);
      expect(g.gini).toBeCloseTo(o.gini, 12);
    }
    // Resending is harmless: nothing is counted twice.
    await expect(reportFeedback({ events: batch.slice(0, 10) }, deps(), ctx)).resolves.toMatchObject({ accepted: 0, duplicates: 10 });
    const exposition = await metrics.registry.metrics();
    const control = got.get('control')!;
    expect(exposition).toContain(`ralm_ab_window_ctr{arm="control",service="seed-collector"} ${control.ctr}`);
    expect(exposition).toContain(`ralm_ab_exposures_total{arm="control",service="seed-collector"} ${control.exposureEvents}`);
    expect(exposition).toContain('ralm_ab_arm_share{arm="treatment",service="seed-collector"} 0.5');
    expect(exposition).toMatch(/ralm_ab_window_category_diversity_readers\{arm="control",categories="16\+",service="seed-collector"\} 0/);
    expect(promtoolCheckMetrics(exposition)).toEqual({ ok: true, output: '' });
  });

  it('refuses a bad batch whole, naming the event and field, and accepts nothing of it', async () => {
    const good = ev('ok-1', 'u1', 'i1', 'exposure');
    const cases: Array<[Partial<FeedbackEventProto>, string]> = [
      [{ arm: 'holdout' }, 'events[1].arm'],
      [{ kind: FeedbackKind.FEEDBACK_KIND_UNSPECIFIED }, 'events[1].kind'],
      [{ userId: '' }, 'events[1].user_id'],
      [{ itemId: 'x'.repeat(300) }, 'events[1].item_id'],
      [{ timestampMs: 0 }, 'events[1].timestamp_ms'],
      [{ timestampMs: now + HOUR }, 'events[1].timestamp_ms'],
      [{ tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, 'events[1].tags'],
      [{ tags: ['ok', ''] }, 'events[1].tags[1]'],
      [{ category: 'a\u0000b' }, 'events[1].category'],
    ];
    for (const [bad, field] of cases) {
      const err = await reportFeedback({ events: [good, ev('bad', 'u2', 'i2', 'click', bad)] }, deps(), ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ field });
    }
    await expect(reportFeedback({ events: [] }, deps(), ctx)).rejects.toMatchObject({ field: 'events' });
    await new Promise((r) => setTimeout(r, 20));
    expect(deps().ab.hasSeen('ok-1')).toBe(false);
    await expect(reportFeedback({ events: [good] }, deps(), ctx)).resolves.toMatchObject({ accepted: 1 });
  });

  it('records a click on a live candidate as a seed click too, once', async () => {
    await registerCandidate({ candidateId: 'cand', category: 'news', tags: [] }, deps());
    const clicks: string[] = [];
    await bus.subscribe(Subjects.clickRecorded, async (c) => void clicks.push(c.eventId), { durable: 'probe' });
    const events = [ev('k1', 'u1', 'cand', 'click'), ev('k2', 'u2', 'not-a-candidate', 'click'), ev('k3', 'u3', 'cand', 'exposure')];
    await expect(reportFeedback({ events }, deps(), ctx)).resolves.toEqual({ accepted: 3, duplicates: 0, seedClicks: 1 });
    await expect(reportFeedback({ events: events.slice(0, 1) }, deps(), ctx)).resolves.toEqual({ accepted: 0, duplicates: 1, seedClicks: 0 });
    for (let i = 0; i < 200 && deps().book.seedCount('cand') < 1; i++) await new Promise((r) => setImmediate(r));
    expect(deps().book.seedCount('cand')).toBe(1);
    expect(clicks).toEqual(['k1']);
  });

  it('records the seed click on a retry when only the seed publish had failed', async () => {
    await registerCandidate({ candidateId: 'cand', category: 'news', tags: [] }, deps());
    const publish = bus.publish.bind(bus);
    const failOnce = jest.spyOn(bus, 'publish').mockImplementationOnce(async (subject, message, options) => {
      if (subject.name !== Subjects.feedbackRecorded.name) throw new Error('unexpected order');
      return publish(subject, message, options);
    });
    failOnce.mockImplementationOnce(async () => {
      throw new UnavailableError('bus unreachable');
    });
    const click = ev('k1', 'u1', 'cand', 'click');
    await expect(reportFeedback({ events: [click] }, deps(), ctx)).rejects.toBeInstanceOf(UnavailableError);
    failOnce.mockRestore();
    await expect(reportFeedback({ events: [click] }, deps(), ctx)).resolves.toEqual({ accepted: 0, duplicates: 1, seedClicks: 1 });
    for (let i = 0; i < 200 && deps().book.seedCount('cand') < 1; i++) await new Promise((r) => setImmediate(r));
    expect(deps().book.seedCount('cand')).toBe(1);
  });

  it('counts only its own experiment from the bus, and assigns an arm left empty there', async () => {
    const mine = ev('b1', 'u1', 'i1', 'click');
    await bus.publish(Subjects.feedbackRecorded, { event: mine, experimentId: config.EXPERIMENT_ID });
    await bus.publish(Subjects.feedbackRecorded, { event: ev('b2', 'u2', 'i2', 'click', { arm: 'control' }), experimentId: 'last-quarter' });
    expect(await counted(1)).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    const arm = assigner.assign('u1');
    expect(deps().ab.measures(now).get(arm)!.clicks).toBe(1);
    expect([...deps().ab.measures(now).values()].reduce((n, m) => n + m.clicks, 0)).toBe(1);
    expect(await metrics.registry.getSingleMetricAsString('ralm_seed_collector_feedback_total')).toMatch(/source="bus",outcome="other_experiment".*\} 1/);
  });

  it('rebuilds the window from the stream after a restart, without replaying into the counters', async () => {
    const events = Array.from({ length: 30 }, (_, i) => ev(`r${i}`, `u${i % 7}`, `i${i % 5}`, i % 4 === 0 ? 'click' : 'exposure', { timestampMs: now - (i % 3) * HOUR }));
    await reportFeedback({ events }, deps(), ctx);
    expect(await counted(30)).toBe(30);
    const before = deps().ab.measures(now);
    await collector.stop!();
    now += 60_000;
    await start();
    expect(await counted(30)).toBe(30);
    expect(deps().ab.measures(now)).toEqual(before);
    expect(await metrics.registry.getSingleMetricAsString('ralm_ab_exposures_total')).toMatch(/^ralm_ab_exposures_total\{arm="control",service="seed-collector"\} 0$/m);
    expect(await metrics.registry.getSingleMetricAsString('ralm_ab_exposures_total')).not.toMatch(/\} [1-9]/);
    // A day later the window has slid past all of it.
    now += 25 * HOUR;
    const later = deps().ab.measures(now);
    for (const m of later.values()) expect(m).toMatchObject({ exposureEvents: 0, clicks: 0, exposures: 0 });
  });

  it('refuses a window that is not whole slots, or too many of them, naming the variable', () => {
    expect(() => loadSeedCollectorConfig({ AB_WINDOW_SECONDS: '5000' })).toThrow(/AB_WINDOW_SECONDS: must be a whole number of AB_SLOT_SECONDS/);
    expect(() => loadSeedCollectorConfig({ AB_SLOT_SECONDS: '60' })).toThrow(/AB_SLOT_SECONDS: makes 1440 slots/);
    expect(() => loadSeedCollectorConfig({ EXPERIMENT_ARMS: 'a:1,b:1' })).toThrow(/EXPERIMENT_ARMS: .*named 'control'/);
  });
});
