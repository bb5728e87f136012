/**
 * Past one machine, on a real nats-server, every service its own process from its real
 * main.ts: three seed-collector replicas sharing six partitions, user-embedding with a
 * tiny trained model, and two clusterers (the coordinator and a worker taking jobs from
 * the same queue). Any collector replica takes any call and the partition's owner does the
 * work; one replica is killed (SIGKILL, no final snapshot) mid-stream and started again
 * under its ordinal; in the end every candidate's seeds equal an independent latest-N
 * reference (nothing lost, nothing counted twice) through whichever replica, and every
 * candidate is clustered from exactly those seeds, by jobs both clusterers took.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { callUnary, partitionOf, partitionsOwnedBy } from '@ralm/platform';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';
import { startServiceProcess, type ServiceProcess } from '@ralm/platform/testing/service-process';
import { ClustererServiceClient } from '@ralm/proto/clusterer';
import { SeedCollectorServiceClient, type Click } from '@ralm/proto/seed_collector';
import { trainTinyModel } from './support/tiny-model';
import { startReplicaProcess, type ReplicaProcess } from '../services/seed-collector/src/testing/replica-process';

jest.setTimeout(240_000);

const PARTITIONS = 6;
const REPLICAS = 3;
const SEED_CAP = 40;
const CANDIDATES = Array.from({ length: 12 }, (_, i) => `item-${i}`);
/** Users of the tiny model (they have embeddings), set once it is trained. */
let USERS: string[] = [];
const ROOT = path.join(__dirname, '..');

interface Replica {
  proc: ReplicaProcess;
  client: SeedCollectorServiceClient;
}

let nats: NatsServer;
let base: string;
const replicas: Array<Replica | undefined> = [];

/** Starts replica `ordinal` as its own process (its real main.ts); resolves once it is SERVING. */
async function startReplica(ordinal: number, replicaCount = REPLICAS): Promise<Replica> {
  const proc = await startReplicaProcess(ordinal, {
    NATS_URL: nats.url,
    STATE_DIR: path.join(base, `state-${ordinal}`),
    SEED_PARTITIONS: String(PARTITIONS),
    SEED_REPLICAS: String(replicaCount),
    SEED_CAP: String(SEED_CAP),
    SERVABLE_MIN_SEEDS: '5',
    SNAPSHOT_INTERVAL_SECONDS: '1',
  });
  return { proc, client: new SeedCollectorServiceClient(proc.address, credentials.createInsecure()) };
}

/** SIGKILL by default (a crash: no final snapshot); SIGTERM stops it as Kubernetes does, snapshots written. */
async function kill(ordinal: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const r = replicas[ordinal]!;
  r.client.close();
  await r.proc.stop(signal);
  replicas[ordinal] = undefined;
}

/** The independent reference: per candidate the latest SEED_CAP distinct users, newest first. */
class LatestN {
  private readonly sets = new Map<string, Map<string, true>>();
  private readonly seen = new Set<string>();
  clicks = new Map<string, number>();
  apply(c: Click): void {
    if (this.seen.has(c.eventId)) return;
    this.seen.add(c.eventId);
    this.clicks.set(c.candidateId, (this.clicks.get(c.candidateId) ?? 0) + 1);
    let set = this.sets.get(c.candidateId);
    if (!set) this.sets.set(c.candidateId, (set = new Map()));
    set.delete(c.userId);
    set.set(c.userId, true);
    if (set.size > SEED_CAP) set.delete(set.keys().next().value!);
  }
  newest(candidateId: string): string[] {
    return [...(this.sets.get(candidateId)?.keys() ?? [])].reverse();
  }
}

/** Sends a batch to a live replica until it is accepted whole (UNAVAILABLE while an owner is down). */
async function report(clicks: Click[], via: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const live = replicas.map((r, i) => (r ? i : -1)).filter((i) => i >= 0);
    const r = replicas[live[(via + attempt) % live.length]!]!;
    try {
      const res = await callUnary(r.client.reportClicks.bind(r.client), { clicks }, { timeoutMs: 15_000 });
      expect(res.rejections).toEqual([]);
      return;
    } catch (err) {
      if ((err as ServiceError).code !== status.UNAVAILABLE || attempt > 300) throw err;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

const others: ServiceProcess[] = [];
let coordinator: ServiceProcess;
let clusterWorker: ServiceProcess;
let clusters: ClustererServiceClient;

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-partitions-'));
  const modelRoot = path.join(base, 'models');
  USERS = (await trainTinyModel(modelRoot)).userIds.slice(0, 90);
  nats = await startNatsServer();
  for (let i = 0; i < REPLICAS; i++) replicas[i] = await startReplica(i);
  const service = (name: string, env: NodeJS.ProcessEnv) => startServiceProcess(path.join(ROOT, 'services', name, 'src', 'main.ts'), ROOT, { NATS_URL: nats.url, STATE_DIR: path.join(base, `state-${name}-${env['CLUSTERER_ROLE'] ?? ''}`), ...env });
  others.push(await service('user-embedding', { MODEL_ROOT: modelRoot }));
  const clusterer = {
    // Replica 0 is never killed here; in Kubernetes the Service spreads the calls over all.
    SEED_COLLECTOR_ADDR: replicas[0]!.proc.address,
    USER_EMBEDDING_ADDR: others[0]!.address,
    SERVABLE_MIN_SEEDS: '5',
    CLUSTER_K: '3',
    CLUSTER_JOBS_IN_FLIGHT: '4',
    // Re-clustered as the seeds move, so the last clustering is of the last seeds.
    RECLUSTER_INTERVAL_SECONDS: '1',
    PLANNER_TICK_MS: '100',
  };
  coordinator = await service('clusterer', clusterer);
  clusterWorker = await service('clusterer', { ...clusterer, CLUSTERER_ROLE: 'worker' });
  others.push(coordinator, clusterWorker);
  clusters = new ClustererServiceClient(coordinator.address, credentials.createInsecure());
}, 180_000);
afterAll(async () => {
  clusters?.close();
  for (const o of others.reverse()) await o.stop('SIGTERM');
  for (let i = 0; i < replicas.length; i++) if (replicas[i]) await kill(i);
  await nats?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('three seed-collector replicas over six partitions', () => {
  it('spread the candidates over every replica', () => {
    const owners = new Set(CANDIDATES.map((c) => partitionOf(c, PARTITIONS) % REPLICAS));
    expect(owners.size).toBe(REPLICAS);
    expect(partitionsOwnedBy(1, REPLICAS, PARTITIONS)).toEqual([1, 4]);
  });

  it('register through any replica: the owner decides, every replica answers alike', async () => {
    for (const [i, candidateId] of CANDIDATES.entries()) {
      const r = replicas[i % REPLICAS]!;
      await expect(callUnary(r.client.registerCandidate.bind(r.client), { candidateId, category: 'c', tags: [] })).resolves.toMatchObject({ created: true });
    }
    // Again through another replica: an update, not a second registration.
    const again = replicas[1]!;
    await expect(callUnary(again.client.registerCandidate.bind(again.client), { candidateId: CANDIDATES[0]!, category: 'd', tags: [] })).resolves.toMatchObject({ created: false, candidate: { category: 'd' } });
    for (const r of replicas) {
      await expect(callUnary(r!.client.getSeedStats.bind(r!.client), { candidateId: CANDIDATES[5]! })).resolves.toMatchObject({ candidate: { candidateId: CANDIDATES[5] }, seedCount: 0 });
      // Typed errors come back from the owner as they are.
      await expect(callUnary(r!.client.getSeedStats.bind(r!.client), { candidateId: 'never-registered' })).rejects.toMatchObject({ code: status.NOT_FOUND, details: expect.stringMatching(/candidate 'never-registered' not found/) });
    }
  });

  const reference = new LatestN();

  /** Waits until each candidate's owner has applied every click sent, then reads each candidate through every replica. */
  async function expectSeedsEqualReference(): Promise<void> {
    const live = replicas.filter((r): r is Replica => r !== undefined);
    for (const candidateId of CANDIDATES) {
      const r = live[CANDIDATES.indexOf(candidateId) % live.length]!;
      for (let i = 0; i < 300; i++) {
        const stats = await callUnary(r.client.getSeedStats.bind(r.client), { candidateId });
        if (stats.totalClicks >= (reference.clicks.get(candidateId) ?? 0)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    for (const candidateId of CANDIDATES) {
      const expected = reference.newest(candidateId);
      for (const r of live) {
        const stats = await callUnary(r.client.getSeedStats.bind(r.client), { candidateId });
        expect({ candidateId, totalClicks: stats.totalClicks, seedCount: stats.seedCount }).toEqual({ candidateId, totalClicks: reference.clicks.get(candidateId) ?? 0, seedCount: expected.length });
        const listed: string[] = [];
        await new Promise<void>((resolve, reject) => {
          const call = r.client.listSeeds({ candidateId, limit: 0 });
          call.on('data', (chunk: { userIds: string[] }) => listed.push(...chunk.userIds));
          call.on('end', resolve);
          call.on('error', reject);
        });
        expect({ candidateId, seeds: listed }).toEqual({ candidateId, seeds: expected });
      }
    }
  }

  it('keep every click across a replica killed mid-stream: seeds equal the latest-N reference', async () => {
    // mulberry32: a seeded stream of uniform integers, so a failure replays.
    let state = 7;
    const random = (n: number) => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const batch = (b: number): Click[] =>
      Array.from({ length: 150 }, (_, i) => ({ eventId: `e-${b}-${i}`, userId: USERS[random(USERS.length)]!, candidateId: CANDIDATES[random(CANDIDATES.length)]!, timestampMs: Date.now() }));
    const batches = Array.from({ length: 30 }, (_, b) => batch(b));
    let restarted: Promise<void> | undefined;
    for (let b = 0; b < batches.length; b++) {
      if (b === 12) {
        await kill(1);
        // As the StatefulSet would: the pod comes back under its ordinal a little later. Until
        // then calls touching its partitions are UNAVAILABLE and the sender retries them.
        restarted = new Promise((r) => setTimeout(r, 1500)).then(async () => void (replicas[1] = await startReplica(1)));
      }
      await report(batches[b]!, b);
      // A retried batch: its clicks are duplicates, not new seeds.
      if (b % 7 === 3) await report(batches[b]!, b + 1);
      for (const c of batches[b]!) reference.apply(c);
    }
    await restarted;
    // Every candidate was clicked, and by more users than it keeps: eviction is exercised.
    for (const candidateId of CANDIDATES) expect({ candidateId, kept: reference.newest(candidateId).length }).toEqual({ candidateId, kept: SEED_CAP });
    await expectSeedsEqualReference();
  });

  it('cluster every candidate from exactly its final seeds, with jobs taken by both clusterers', async () => {
    const live = replicas[0]!;
    for (const candidateId of CANDIDATES) {
      const stats = await callUnary(live.client.getSeedStats.bind(live.client), { candidateId });
      let got: { seedVersion: number; seedCount: number; k: number } | undefined;
      for (let i = 0; i < 400; i++) {
        got = await callUnary(clusters.getClusters.bind(clusters), { candidateId }).catch(() => undefined);
        if (got && got.seedVersion === stats.seedVersion) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect({ candidateId, seedVersion: got?.seedVersion, seedCount: got?.seedCount, k: got?.k }).toEqual({ candidateId, seedVersion: stats.seedVersion, seedCount: reference.newest(candidateId).length, k: 3 });
    }
    const jobs = async (p: ServiceProcess) => {
      const text = await (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`)).text();
      return text.split('\n').filter((l) => l.includes('_jobs_total{') && l.includes('outcome="clustered"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    expect(await jobs(coordinator)).toBeGreaterThan(0);
    expect(await jobs(clusterWorker)).toBeGreaterThan(0);
  });

  it('refuse a replica started with another SEED_REPLICAS while the old ones still serve its partitions', async () => {
    await expect(startReplica(0, 2)).rejects.toThrow(/exited with [1-9][\s\S]*partition 0 is still served by replica 0 of 3; this one is 0 of 2/);
  });

  it('move to two replicas by the documented procedure (stop all, start with the new SEED_REPLICAS): nothing lost, and clicks go on', async () => {
    for (let i = 0; i < REPLICAS; i++) await kill(i, 'SIGTERM');
    replicas.length = 0;
    for (let i = 0; i < 2; i++) replicas[i] = await startReplica(i, 2);
    await expectSeedsEqualReference();
    const more = CANDIDATES.flatMap((candidateId, i) => [0, 1, 2].map((j) => ({ eventId: `after-${i}-${j}`, userId: `late-user-${j}`, candidateId, timestampMs: Date.now() })));
    await report(more, 0);
    for (const c of more) reference.apply(c);
    await expectSeedsEqualReference();
  });
});
