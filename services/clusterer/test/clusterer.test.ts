import { ReclusterSkipReason } from '@ralm/proto/clusterer';
import { Candidate } from '@ralm/proto/common';
import { createLogger, createServiceMetrics, Subjects, type EventBus } from '@ralm/platform';
import { createMemoryStateStore } from '@ralm/platform/testing/memory-store';
import { loadClustererConfig } from '../src/config';
import { createClusterWorker } from '../src/module';
import type { ClustersUpdated } from '@ralm/proto/events';
import { getClusters } from '../src/handlers/get-clusters';
import { recluster } from '../src/handlers/recluster';
import { blobModel, fakeEmbeddings, fakeSeeds, startClusterer, waitFor, type FakeModel, type Harness } from './support';

const users = Array.from({ length: 400 }, (_, i) => `u${i}`);
const BLOBS = 4;

/** The oracle: per planted blob, the members' count and the mean of their universal embeddings. */
function blobMeans(model: FakeModel, blobOf: Map<string, number>, members: string[]): Array<{ size: number; mean: number[] }> {
  const out = Array.from({ length: BLOBS }, () => ({ size: 0, mean: new Array<number>(model.d).fill(0) }));
  for (const u of members) {
    const b = out[blobOf.get(u)!]!;
    b.size++;
    model.universal.get(u)!.forEach((v, t) => (b.mean[t]! += v));
  }
  for (const b of out) b.mean = b.mean.map((v) => v / b.size);
  return out.sort((a, b) => a.mean[0]! - b.mean[0]!);
}

function expectClustersMatch(clusters: Array<{ centroid: number[]; size: number }>, expected: Array<{ size: number; mean: number[] }>): void {
  const got = [...clusters].sort((a, b) => a.centroid[0]! - b.centroid[0]!);
  expect(got.map((c) => c.size)).toEqual(expected.map((e) => e.size));
  got.forEach((c, i) => c.centroid.forEach((v, t) => expect(v).toBeCloseTo(expected[i]!.mean[t]!, 5)));
}

describe('Clusterer (in-process, fake seed and embedding sources)', () => {
  let model: FakeModel | undefined;
  let blobOf: Map<string, number>;
  const seedSets = new Map<string, { userIds: string[]; seedVersion: number }>();
  let harness: Harness | undefined;
  let announced: ClustersUpdated[];
  let bus: EventBus;

  const seeds = (candidateId: string, count: number, version = count) => {
    seedSets.set(candidateId, { userIds: users.slice(0, count), seedVersion: version });
    return bus.publish(Subjects.seedsUpdated, { candidateId, seedCount: count, seedVersion: version, updatedAtMs: Date.now() });
  };
  const deps = () => harness!.module.deps;
  const start = async (env: NodeJS.ProcessEnv = {}, shared: Parameters<typeof startClusterer>[2] = {}) => {
    harness = await startClusterer({ CLUSTER_K: String(BLOBS), SERVABLE_MIN_SEEDS: '100', ...env }, { seeds: fakeSeeds(seedSets), embeddings: fakeEmbeddings(() => model) }, { bus, ...shared });
    return harness;
  };

  beforeEach(async () => {
    ({ model, blobOf } = blobModel('m1', users, BLOBS));
    seedSets.clear();
    const { createMemoryBus } = await import('@ralm/platform');
    bus = createMemoryBus();
    announced = [];
    await bus.subscribe(Subjects.clustersUpdated, async (e) => void announced.push(e), { durable: 'probe' });
  });
  afterEach(async () => {
    await harness?.module.stop!();
    harness = undefined;
    await bus.close();
  });

  it('clusters a candidate as soon as it reaches the minimum seeds, and not before', async () => {
    await start();
    await seeds('c1', 99);
    await seeds('c2', 100);
    await waitFor('c2 clustered', () => deps().clusters.has('c2'));
    expect(deps().clusters.has('c1')).toBe(false);
    await expect(getClusters({ candidateId: 'c1' }, deps())).rejects.toThrow("candidate 'c1' has 99 seeds; clustering starts at 100");

    await seeds('c1', 100);
    await waitFor('c1 clustered', () => deps().clusters.has('c1'));
    const reply = await getClusters({ candidateId: 'c1' }, deps());
    expect(reply).toMatchObject({ candidateId: 'c1', clusterVersion: 1, modelVersion: 'm1', seedVersion: 100, seedCount: 100, k: BLOBS, dimension: model!.d });
    expectClustersMatch(reply.clusters, blobMeans(model!, blobOf, users.slice(0, 100)));
    await waitFor('announcement', () => announced.some((e) => e.candidateId === 'c1'));
    expect(announced.find((e) => e.candidateId === 'c1')).toMatchObject({ clusterVersion: 1, modelVersion: 'm1', seedVersion: 100, k: BLOBS });
    await expect(getClusters({ candidateId: 'nobody' }, deps())).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('with CLUSTER_JOBS_IN_FLIGHT > 1 hands due candidates to a queue of workers: each clustered once, as one process would, and versioned by the coordinator alone', async () => {
    const counted = (source: ReturnType<typeof fakeSeeds>) => {
      const seen: string[] = [];
      return { seen, seeds: (id: string, signal?: AbortSignal) => (seen.push(id), source.seeds(id, signal)) };
    };
    const workerSeeds = counted(fakeSeeds(seedSets));
    const worker = createClusterWorker(
      loadClustererConfig({ CLUSTER_K: String(BLOBS), CLUSTERER_ROLE: 'worker' }),
      { bus, logger: createLogger('worker', 'silent'), metrics: createServiceMetrics('clusterer'), now: Date.now, openStore: async () => createMemoryStateStore() },
      { seeds: workerSeeds, embeddings: fakeEmbeddings(() => model) },
    );
    await worker.start!();
    const coordinatorSeeds = counted(fakeSeeds(seedSets));
    harness = await startClusterer({ CLUSTER_K: String(BLOBS), SERVABLE_MIN_SEEDS: '100', CLUSTER_JOBS_IN_FLIGHT: '4' }, { seeds: coordinatorSeeds, embeddings: fakeEmbeddings(() => model) }, { bus });
    const counts = Array.from({ length: 8 }, (_, i) => 100 + 20 * i);
    for (const [i, n] of counts.entries()) await seeds(`job-${i}`, n);
    await waitFor('every candidate clustered', () => counts.every((_, i) => deps().clusters.has(`job-${i}`)));
    for (const [i, n] of counts.entries()) {
      const record = deps().clusters.get(`job-${i}`)!;
      expect(record).toMatchObject({ clusterVersion: 1, seedVersion: n, seedCount: n, modelVersion: 'm1', k: BLOBS });
      expectClustersMatch(record.clusters, blobMeans(model!, blobOf, users.slice(0, n)));
    }
    // Both took jobs; no candidate was read by both (each job reached one member).
    expect(workerSeeds.seen.length).toBeGreaterThan(0);
    expect(coordinatorSeeds.seen.length).toBeGreaterThan(0);
    expect(workerSeeds.seen.filter((id) => coordinatorSeeds.seen.includes(id))).toEqual([]);
    await waitFor('announcements', () => counts.every((_, i) => announced.some((e) => e.candidateId === `job-${i}`)));
    expect(announced.filter((e) => e.candidateId.startsWith('job-')).map((e) => e.clusterVersion)).toEqual(counts.map(() => 1));
    // The worker gone, the coordinator takes its own jobs.
    await worker.stop!();
    await seeds('after', 150);
    await waitFor('clustered without the worker', () => deps().clusters.has('after'));
    expect(coordinatorSeeds.seen).toContain('after');
  });

  it('fits a sample and assigns every seed in one pass when the seeds outnumber the sample', async () => {
    await start({ CLUSTER_SAMPLE_SIZE: '40', EMBEDDING_BATCH: '33' });
    await seeds('big', 400);
    await waitFor('big clustered', () => deps().clusters.has('big'));
    expectClustersMatch(deps().clusters.get('big')!.clusters, blobMeans(model!, blobOf, users));
  });

  it('re-clusters sooner when seeds grow by the fraction, and when the model changes', async () => {
    await start({ RECLUSTER_GROWTH_FRACTION: '0.5' });
    await seeds('c1', 100);
    await waitFor('first', () => deps().clusters.get('c1')?.clusterVersion === 1);
    await seeds('c1', 149);
    await seeds('c1', 150);
    await waitFor('growth', () => deps().clusters.get('c1')?.clusterVersion === 2);
    expect(deps().clusters.get('c1')).toMatchObject({ seedVersion: 150, seedCount: 150 });

    ({ model, blobOf } = blobModel('m2', users, BLOBS, 8, 6, 2));
    await bus.publish(Subjects.modelPublished, { modelVersion: 'm2', artifactUri: 'file:///m2', userDim: 6, lookalikeDim: 8, publishedAtMs: Date.now(), metrics: {} });
    await waitFor('model change', () => deps().clusters.get('c1')?.modelVersion === 'm2');
    expect(deps().clusters.get('c1')!.clusterVersion).toBe(3);
    expectClustersMatch(deps().clusters.get('c1')!.clusters, blobMeans(model!, blobOf, users.slice(0, 150)));
  });

  it('waits for a model instead of failing, then clusters what was due', async () => {
    model = undefined;
    await start();
    await seeds('c1', 120);
    await waitFor('tracked', () => deps().tracker.has('c1'));
    await expect(recluster({ candidateId: 'c1', force: false }, deps(), harness!.module.worker)).resolves.toMatchObject({
      skipped: true,
      skipReason: ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_MODEL,
      clusterVersion: 0,
    });
    ({ model, blobOf } = blobModel('m1', users, BLOBS));
    await bus.publish(Subjects.modelPublished, { modelVersion: 'm1', artifactUri: 'file:///m1', userDim: 6, lookalikeDim: 8, publishedAtMs: Date.now(), metrics: {} });
    await waitFor('clustered once a model exists', () => deps().clusters.has('c1'));
  });

  const publish = (modelVersion: string) =>
    bus.publish(Subjects.modelPublished, { modelVersion, artifactUri: `file:///${modelVersion}`, userDim: 6, lookalikeDim: 8, publishedAtMs: Date.now(), metrics: {} });

  it('a candidate due before the first model is clustered once user-embedding serves it, although model.published came first (stall 1)', async () => {
    model = undefined;
    await start({ PINNED_MODEL_RETRY_MS: '50', MODEL_PROBE_INTERVAL_MS: '60000' });
    await seeds('early', 100);
    await waitFor('tried without a model', () => deps().tracker.has('early'));
    await new Promise((r) => setTimeout(r, 100));
    // The event reaches the clusterer before user-embedding has loaded the model it announces.
    await publish('m1');
    await new Promise((r) => setTimeout(r, 300));
    ({ model, blobOf } = blobModel('m1', users, BLOBS));
    await waitFor('the early candidate clustered with m1', () => deps().clusters.get('early')?.modelVersion === 'm1', 3000);
    await seeds('later', 100);
    await waitFor('a later candidate clustered too', () => deps().clusters.get('later')?.modelVersion === 'm1', 3000);
  });

  it('a second model: every candidate is re-clustered with it once served, Recluster never calls old clusters UP_TO_DATE, new candidates too (stall 2)', async () => {
    await start({ PINNED_MODEL_RETRY_MS: '50', MODEL_PROBE_INTERVAL_MS: '60000' });
    for (const c of ['a', 'b', 'c']) await seeds(c, 100);
    await waitFor('clustered with m1', () => ['a', 'b', 'c'].every((c) => deps().clusters.get(c)?.modelVersion === 'm1'));
    await publish('m2'); // user-embedding still serves m1 for a while
    await new Promise((r) => setTimeout(r, 300));
    expect(['a', 'b', 'c'].map((c) => deps().clusters.get(c)!.modelVersion)).toEqual(['m1', 'm1', 'm1']);
    ({ model, blobOf } = blobModel('m2', users, BLOBS, 8, 6, 2));
    // Asked at once, Recluster answers with m2 clusters (made now, or already by the job), never m1 ones as UP_TO_DATE.
    await expect(recluster({ candidateId: 'a', force: false }, deps(), harness!.module.worker)).resolves.toMatchObject({ modelVersion: 'm2' });
    await waitFor('all re-clustered with m2', () => ['a', 'b', 'c'].every((c) => deps().clusters.get(c)?.modelVersion === 'm2'), 3000);
    await seeds('after', 100);
    await waitFor('a candidate seeded after the swap', () => deps().clusters.get('after')?.modelVersion === 'm2', 3000);
    expectClustersMatch(deps().clusters.get('b')!.clusters, blobMeans(model!, blobOf, users.slice(0, 100)));
  });

  it('re-clusters every candidate for a new model as one bulk job: each distinct user fetched once per group, the same clusters as one by one', async () => {
    const many = Array.from({ length: 30 }, (_, i) => `bulk-${i}`);
    const embeddings = fakeEmbeddings(() => model);
    harness = await startClusterer({ CLUSTER_K: String(BLOBS), EMBEDDING_BATCH: '1000', MODEL_PROBE_INTERVAL_MS: '60000' }, { seeds: fakeSeeds(seedSets), embeddings }, { bus });
    for (const [i, c] of many.entries()) {
      seedSets.set(c, { userIds: users.slice(i, i + 100 + i), seedVersion: 1 });
      await bus.publish(Subjects.seedsUpdated, { candidateId: c, seedCount: 100 + i, seedVersion: 1, updatedAtMs: Date.now() });
    }
    await waitFor('clustered with m1', () => many.every((c) => deps().clusters.get(c)?.modelVersion === 'm1'), 5000);
    ({ model, blobOf } = blobModel('m2', users, BLOBS, 8, 6, 2));
    const before = embeddings.calls;
    await publish('m2');
    await waitFor('all on m2', () => many.every((c) => deps().clusters.get(c)?.modelVersion === 'm2'), 5000);
    // 30 candidates, 400 distinct users: one fetch for the group (one by one it would be 90).
    expect(embeddings.calls - before).toBe(1);
    const metrics = await harness.metrics.registry.getSingleMetricAsString('ralm_clusterer_model_rollout_candidates');
    expect(metrics).toMatch(/state="total"[^}]*} 30/);
    expect(metrics).toMatch(/state="done"[^}]*} 30/);
    for (const [i, c] of many.entries()) expectClustersMatch(deps().clusters.get(c)!.clusters, blobMeans(model!, blobOf, users.slice(i, i + 100 + i)));
  });

  it('survives a restart: stored clusters are served at once and unchanged seeds are not recomputed', async () => {
    const store = new Map<string, Uint8Array>();
    await start({}, { store });
    await seeds('c1', 100);
    await waitFor('clustered', () => deps().clusters.has('c1'));
    const before = deps().clusters.get('c1')!;
    await harness!.module.stop!();

    const embeddings = fakeEmbeddings(() => model);
    harness = await startClusterer({ CLUSTER_K: String(BLOBS) }, { seeds: fakeSeeds(seedSets), embeddings }, { bus, store });
    await expect(getClusters({ candidateId: 'c1' }, deps())).resolves.toEqual(before);
    await expect(recluster({ candidateId: 'c1', force: false }, deps(), harness.module.worker)).resolves.toMatchObject({
      skipped: true,
      skipReason: ReclusterSkipReason.RECLUSTER_SKIP_REASON_UP_TO_DATE,
      clusterVersion: 1,
    });
    expect(embeddings.calls).toBe(0);
    await expect(recluster({ candidateId: 'c1', force: true }, deps(), harness.module.worker)).resolves.toMatchObject({ skipped: false, clusterVersion: 2 });
  });

  it('pinned by MODEL_VERSION: re-clusters at start for the pin, waits while it is not served, ignores other published versions', async () => {
    const store = new Map<string, Uint8Array>();
    await start({}, { store });
    await seeds('c1', 100);
    await waitFor('clustered with m1', () => deps().clusters.get('c1')?.modelVersion === 'm1');
    await harness!.module.stop!();

    // A rollout to m2: user-embedding still serves m1 for a while.
    harness = await startClusterer({ CLUSTER_K: String(BLOBS), MODEL_VERSION: 'm2', PINNED_MODEL_RETRY_MS: '50' }, { seeds: fakeSeeds(seedSets), embeddings: fakeEmbeddings(() => model) }, { bus, store });
    await expect(recluster({ candidateId: 'c1', force: true }, deps(), harness.module.worker)).resolves.toMatchObject({ skipped: true, skipReason: ReclusterSkipReason.RECLUSTER_SKIP_REASON_NO_MODEL });
    expect(deps().clusters.get('c1')!.modelVersion).toBe('m1');
    ({ model, blobOf } = blobModel('m2', users, BLOBS, 8, 6, 2));
    await waitFor('re-clustered with the pin once it is served', () => deps().clusters.get('c1')?.modelVersion === 'm2');
    expectClustersMatch(deps().clusters.get('c1')!.clusters, blobMeans(model!, blobOf, users.slice(0, 100)));

    // A newer model is published (and even served): the pinned clusterer stays on m2.
    const version = deps().clusters.get('c1')!.clusterVersion;
    ({ model, blobOf } = blobModel('m3', users, BLOBS, 8, 6, 3));
    await bus.publish(Subjects.modelPublished, { modelVersion: 'm3', artifactUri: 'file:///m3', userDim: 6, lookalikeDim: 8, publishedAtMs: Date.now(), metrics: {} });
    await seeds('c2', 100);
    await waitFor('tracked', () => deps().tracker.has('c2'));
    await new Promise((r) => setTimeout(r, 100));
    expect(deps().tracker.modelVersion).toBe('m2');
    expect(deps().clusters.get('c1')!).toMatchObject({ modelVersion: 'm2', clusterVersion: version });
    expect(deps().clusters.has('c2')).toBe(false); // m2 is no longer served: it waits rather than cluster with m3
  });

  it('freezes a retired candidate and refuses unknown ones', async () => {
    await start();
    await seeds('c1', 100);
    await waitFor('clustered', () => deps().clusters.has('c1'));
    await bus.publish(Subjects.candidateRetired, { candidate: Candidate.fromPartial({ candidateId: 'c1' }) });
    await waitFor('retired', () => !deps().tracker.get('c1').active);
    await expect(recluster({ candidateId: 'c1', force: true }, deps(), harness!.module.worker)).resolves.toMatchObject({
      skipReason: ReclusterSkipReason.RECLUSTER_SKIP_REASON_CANDIDATE_NOT_ACTIVE,
      clusterVersion: 1,
    });
    await expect(recluster({ candidateId: 'ghost', force: true }, deps(), harness!.module.worker)).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});
