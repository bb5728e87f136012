import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { callUnary, checkHealth, Subjects } from '@ralm/platform';
import { startLoopbackMesh, type LoopbackMesh } from './support/mesh';
import { SERVICES, waitFor, type Mesh, type MeshClients } from '@ralm/mesh';
import type { SeedCollectorModule } from '@ralm/seed-collector';
import { TrainingConfig } from '@ralm/proto/trainer';
import { RecencySet } from '../services/seed-collector/src/domain/recency-set';
import { expectStatus } from './support/grpc';
import { promtoolCheckMetrics } from './support/promtool';

const PROTO_NAMES: Record<string, string> = {
  'user-embedding': 'ralm.v1.UserEmbeddingService',
  'seed-collector': 'ralm.v1.SeedCollectorService',
  clusterer: 'ralm.v1.ClustererService',
  'lookalike-scorer': 'ralm.v1.LookalikeScorerService',
  trainer: 'ralm.v1.TrainerService',
};

describe.each(['memory', 'nats'] as const)('the mesh on the %s bus', (busKind) => {
  let loop: LoopbackMesh | undefined;
  let mesh: Mesh;
  let clients: MeshClients;
  let run = 0;
  const ids = (prefix: string) => `${prefix}-${busKind}-${++run}`;

  beforeAll(async () => {
    loop = await startLoopbackMesh(busKind, { SEEDS_UPDATED_INTERVAL_MS: '20', STATE_DIR: await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-mesh-state-')) });
    ({ mesh, clients } = loop);
  });

  afterAll(() => loop?.stop());

  it('starts all five services, each SERVING on grpc.health.v1 for the server and its service name', async () => {
    expect(mesh.services.map((s) => s.name)).toEqual(SERVICES.map((s) => s.name));
    expect(mesh.bus.kind).toBe(busKind);
    for (const s of mesh.services) {
      await expect(checkHealth(s.host.address, '')).resolves.toBe('SERVING');
      await expect(checkHealth(s.host.address, PROTO_NAMES[s.name])).resolves.toBe('SERVING');
      await expect(checkHealth(s.host.address, 'ralm.v1.NoSuchService')).resolves.toBe('SERVICE_UNKNOWN');
    }
  });

  it('answers one RPC on every service, honestly when no model exists yet', async () => {
    const { seedCollector: sc, userEmbedding: ue, clusterer: cl, lookalikeScorer: ls, trainer: tr } = clients;
    const candidateId = ids('item');
    const reg = await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'news', tags: ['a', 'b'] });
    expect(reg).toMatchObject({ created: true, candidate: { candidateId, category: 'news', tags: ['a', 'b'], state: 1 } });
    const now = Date.now();
    const clicks = Array.from({ length: 5 }, (_, i) => ({ eventId: ids('e'), userId: `u${i}`, candidateId, timestampMs: now - i }));
    const report = await callUnary(sc.reportClicks.bind(sc), { clicks });
    expect(report).toEqual({ accepted: 5, duplicates: 0, rejections: [] });
    const again = await callUnary(sc.reportClicks.bind(sc), { clicks: clicks.slice(0, 2) });
    expect(again).toEqual({ accepted: 0, duplicates: 2, rejections: [] });
    const stats = await waitFor(() => callUnary(sc.getSeedStats.bind(sc), { candidateId }), (s) => s.seedCount === 5, 5000);
    expect(stats).toMatchObject({ seedCount: 5, totalClicks: 5, seedVersion: 5, seedCap: 3_000_000, servableMinSeeds: 100 });

    const noModel = await expectStatus(callUnary(ue.getEmbeddings.bind(ue), { userIds: ['u1'], kind: 0, modelVersion: '' }), status.FAILED_PRECONDITION);
    expect(noModel.details).toMatch(/no model is loaded/);
    expect((await expectStatus(callUnary(ue.getModel.bind(ue), {}), status.FAILED_PRECONDITION)).details).toMatch(/no model is loaded/);
    // The clusterer learns seed counts from seeds.updated: below the minimum it says so.
    const tooFew = await waitFor(
      () => expectStatus(callUnary(cl.getClusters.bind(cl), { candidateId }), status.FAILED_PRECONDITION).catch(() => undefined),
      (e) => e !== undefined && /has 5 seeds; clustering starts at 100/.test(e.details),
      5000,
    );
    expect(tooFew).toBeDefined();
    await expectStatus(callUnary(ls.score.bind(ls), { userId: 'u1', features: undefined, candidateIds: [candidateId], topK: 5 }), status.FAILED_PRECONDITION);
    await expect(callUnary(tr.listModels.bind(tr), {})).resolves.toEqual({ models: [], currentVersion: '' });
  });

  it('maps bad input to INVALID_ARGUMENT naming the field, and unknown ids to NOT_FOUND', async () => {
    const { seedCollector: sc, userEmbedding: ue, clusterer: cl, lookalikeScorer: ls, trainer: tr } = clients;
    const empty = await expectStatus(callUnary(sc.reportClicks.bind(sc), { clicks: [] }), status.INVALID_ARGUMENT);
    expect(empty.details).toBe('clicks: must not be empty');
    expect(empty.metadata.get('ralm-field')).toEqual(['clicks']);

    const badId = await expectStatus(callUnary(ue.getEmbeddings.bind(ue), { userIds: ['ok', ''], kind: 0, modelVersion: '' }), status.INVALID_ARGUMENT);
    expect(badId.metadata.get('ralm-field')).toEqual(['user_ids[1]']);

    const badTopK = await expectStatus(callUnary(ls.score.bind(ls), { userId: 'u', features: undefined, candidateIds: [], topK: -1 }), status.INVALID_ARGUMENT);
    expect(badTopK.metadata.get('ralm-field')).toEqual(['top_k']);
    const batch = { requests: [{ userId: 'u', features: undefined, candidateIds: [], topK: 1 }, { userId: '', features: undefined, candidateIds: [], topK: 1 }] };
    const inBatch = await expectStatus(callUnary(ls.scoreBatch.bind(ls), batch), status.INVALID_ARGUMENT);
    expect(inBatch.metadata.get('ralm-field')).toEqual(['requests[1].user_id']);

    // Every service that takes raw features refuses non-finite numbers, naming the field.
    const nanAge = { fields: { age: { number: Number.NaN } } };
    const nanScore = await expectStatus(callUnary(ls.score.bind(ls), { userId: 'u', features: nanAge, candidateIds: [], topK: 1 }), status.INVALID_ARGUMENT);
    expect(nanScore.metadata.get('ralm-field')).toEqual(['features.fields[age].number']);
    const infBatch = { requests: [{ userId: 'u', features: { fields: { age: { number: Number.POSITIVE_INFINITY } } }, candidateIds: [], topK: 1 }] };
    const infScore = await expectStatus(callUnary(ls.scoreBatch.bind(ls), infBatch), status.INVALID_ARGUMENT);
    expect(infScore.metadata.get('ralm-field')).toEqual(['requests[0].features.fields[age].number']);
    const nanEmbed = await expectStatus(callUnary(ue.embedFeatures.bind(ue), { users: [nanAge], kind: 0, modelVersion: '' }), status.INVALID_ARGUMENT);
    expect(nanEmbed.metadata.get('ralm-field')).toEqual(['users[0].fields[age].number']);

    const badConfig = await expectStatus(
      callUnary(tr.startTraining.bind(tr), { config: TrainingConfig.fromPartial({ dataDir: '/tmp', batchSize: -3 }) }),
      status.INVALID_ARGUMENT,
    );
    expect(badConfig.metadata.get('ralm-field')).toEqual(['config.batch_size']);

    const missing = await expectStatus(callUnary(sc.getSeedStats.bind(sc), { candidateId: 'never-registered' }), status.NOT_FOUND);
    expect(missing.details).toBe("candidate 'never-registered' not found");
    await expectStatus(callUnary(cl.getClusters.bind(cl), { candidateId: 'never-registered' }), status.NOT_FOUND);
    await expectStatus(callUnary(tr.getJob.bind(tr), { jobId: 'no-such-job' }), status.NOT_FOUND);
    await expectStatus(callUnary(sc.retireCandidate.bind(sc), { candidateId: 'never-registered', reason: '' }), status.NOT_FOUND);
  });

  it('applies a click published on the bus exactly once per event id, across a consumer restart mid-stream', async () => {
    const { seedCollector: sc } = clients;
    const collector = mesh.service('seed-collector').module as SeedCollectorModule;
    const { book, metrics } = collector.deps;
    const candidateId = ids('item');
    await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: '', tags: [] });
    const now = Date.now();
    const click = (i: number) => ({ eventId: `${candidateId}-e${i}`, userId: `u${(i * 7) % 60}`, candidateId, timestampMs: now - 10_000 + i });
    const published: ReturnType<typeof click>[] = [];
    const publish = async (i: number) => {
      // No msgId: the bus stores repeats, as it would for a producer retrying after a lost ack,
      // so only the collector's own idempotence can keep the count right.
      await mesh.bus.publish(Subjects.clickRecorded, click(i));
      published.push(click(i));
    };
    const applied = () => book.get(candidateId).totalClicks;
    const busHandled = async () =>
      (await metrics.clicks.get()).values.filter((v) => v.labels.source === 'bus').reduce((sum, v) => sum + v.value, 0);
    const handledBefore = await busHandled();

    // Stop the consumer from inside its own handler at the 40th click: later messages of the
    // stream are then in flight or not yet delivered, which is what a crash mid-stream leaves.
    const apply = book.apply.bind(book);
    let stopping: Promise<void> | undefined;
    const spy = jest.spyOn(book, 'apply').mockImplementation((c, t) => {
      const outcome = apply(c, t);
      if (!stopping && c.candidateId === candidateId && applied() === 40) stopping = collector.stop!();
      return outcome;
    });
    for (let i = 0; i < 120; i++) await publish(i);
    await waitFor(async () => ({ stopping }), (v) => v.stopping !== undefined, 5000, 1);
    await stopping;
    spy.mockRestore();
    const appliedAtStop = applied();
    expect(appliedAtStop).toBeGreaterThanOrEqual(40);
    expect(appliedAtStop).toBeLessThan(120);

    for (let i = 0; i < 120; i += 3) await publish(i); // repeats of earlier events
    for (let i = 120; i < 160; i++) await publish(i); // new events while the consumer is down
    expect(applied()).toBe(appliedAtStop);
    await collector.start!();

    // Every stored message handled at least once, then the count must be the distinct events.
    await waitFor(busHandled, (n) => n - handledBefore >= published.length, 10_000);
    expect(applied()).toBe(160);

    const reference = new RecencySet<string>(3_000_000);
    const seen = new Set<string>();
    for (const c of published) {
      if (seen.has(c.eventId)) continue;
      seen.add(c.eventId);
      reference.touch(c.userId);
    }
    expect(book.newestSeeds(candidateId, 1000)).toEqual(reference.newest(1000));
    const stats = await callUnary(sc.getSeedStats.bind(sc), { candidateId });
    expect(stats).toMatchObject({ seedCount: reference.size, totalClicks: 160 });
  });

  it('serves valid Prometheus text exposition on every /metrics, with RPC latency and errors by method and code', async () => {
    for (const s of mesh.services) {
      const res = await fetch(`http://127.0.0.1:${s.host.metricsPort}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      const check = promtoolCheckMetrics(body);
      expect(check.output).toBe('');
      expect(check.ok).toBe(true);
      const prefix = `ralm_${s.name.replace(/-/g, '_')}`;
      expect(body).toContain(`# TYPE ${prefix}_rpc_duration_seconds histogram`);
    }
    const sc = await (await fetch(`http://127.0.0.1:${mesh.service('seed-collector').host.metricsPort}/metrics`)).text();
    expect(sc).toMatch(/ralm_seed_collector_rpc_errors_total\{method="SeedCollectorService\/GetSeedStats",code="NOT_FOUND",service="seed-collector"\} [1-9]/);
    expect(sc).toMatch(/ralm_seed_collector_candidates\{state="active",service="seed-collector"\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${mesh.service('trainer').host.metricsPort}/nope`)).status).toBe(404);
  });
});
