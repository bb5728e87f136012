/**
 * The per-service NATS users of k8s/values/nats.yaml, enforced by a real nats-server:
 * the five services, each logged in as its own user, run the real-time path end to
 * end; and each user is refused what it has no business doing — anonymous clients,
 * announcing a model from anyone but the trainer, reading clicks from services that do
 * not need them, deleting or purging the stream, touching another service's state.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { parse } from 'yaml';
import { connectClients, startMesh, waitFor, type Mesh, type MeshClients, type ServiceName } from '@ralm/mesh';
import { busFromConfig, callUnary, clickSubjectOf, consumerName, createLogger, createServiceMetrics, Subjects, type EventBus, type ServiceMetrics, type ServiceModule } from '@ralm/platform';
import { createClusterWorker, loadClustererConfig } from '@ralm/clusterer';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';
import { ModelPublished } from '@ralm/proto/events';
import { ScoreRequest } from '@ralm/proto/lookalike_scorer';
import { trainTinyModel } from './support/tiny-model';

jest.setTimeout(180_000);

const SERVICES: ServiceName[] = ['user-embedding', 'seed-collector', 'clusterer', 'lookalike-scorer', 'trainer'];
const password = () => crypto.randomBytes(12).toString('hex');
/** NATS users besides the mesh's services: clustering workers, and operators. */
const OTHER_USERS = ['clusterer-worker', 'admin'];
const passwords: Record<string, string> = Object.fromEntries([...SERVICES, ...OTHER_USERS].map((s) => [s, password()]));

interface NatsUser {
  user: string;
  password: string;
  permissions?: unknown;
}

/** The users block of k8s/values/nats.yaml, with each `<< $RALM_X_NATS_PASSWORD >>` replaced by a password of this run. */
async function usersFromValues(): Promise<NatsUser[]> {
  const values = parse(await fs.readFile(path.join(__dirname, '..', 'k8s', 'values', 'nats.yaml'), 'utf8'), { merge: true });
  const users = values.config.merge.authorization.users as NatsUser[];
  return users.map((u) => {
    const name = u.user.replace(/^ralm-/, '');
    expect(u.password).toBe(`<< $RALM_${name.toUpperCase().replace(/-/g, '_')}_NATS_PASSWORD >>`);
    return { ...u, password: passwords[name]! };
  });
}

/**
 * Both layouts of the seed collector: one partition (the default chart) and twelve (the
 * production values), which publishes clicks on partition subjects, consumes them with one
 * consumer per partition and answers its owner subjects.
 */
describe.each([1, 12])('with SEED_PARTITIONS=%d', (partitions) => {
  /** The seed collector's click consumer of partition 0, in this layout. */
  const clickConsumer = () => consumerName(partitions === 1 ? 'seed-collector' : 'seed-collector-p0', clickSubjectOf(0, partitions).name);
  let worker: ServiceModule | undefined;
  let workerBus: EventBus | undefined;
  let workerMetrics: ServiceMetrics | undefined;
  let root: string;
  let nats: NatsServer;
  let mesh: Mesh;
  let clients: MeshClients;
  let userIds: string[];
  let version: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-nats-perms-'));
    ({ userIds, version } = await trainTinyModel(path.join(root, 'models')));
    const users = await usersFromValues();
    expect(users.map((u) => u.user).sort()).toEqual([...SERVICES, ...OTHER_USERS].map((s) => `ralm-${s}`).sort());
    nats = await startNatsServer({ config: `authorization: ${JSON.stringify({ users })}` });
    const login = (name: string) => ({ NATS_USER: `ralm-${name}`, NATS_PASSWORD: passwords[name]!, ...(name === 'admin' ? {} : { NATS_INBOX_PREFIX: `_INBOX_ralm-${name}` }) });
    mesh = await startMesh({
      natsUrl: nats.url,
      portBase: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      baseEnv: {},
      // The harness's own bus (mesh.bus) logs in as the operator; each service as itself.
      env: { ...login('admin'), SEED_PARTITIONS: String(partitions), MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state'), SERVABLE_MIN_SEEDS: '20', SHUTDOWN_GRACE_SECONDS: '2' },
      serviceEnv: Object.fromEntries(SERVICES.map((s) => [s, partitions > 1 && s === 'clusterer' ? { ...login(s), CLUSTER_JOBS_IN_FLIGHT: '2' } : login(s)])),
    });
    clients = connectClients(mesh);
    if (partitions > 1) {
      // The scaled-out layout also hands clustering jobs to a worker, logged in as its own user.
      const config = loadClustererConfig({ ...login('clusterer-worker'), NATS_URL: nats.url, CLUSTERER_ROLE: 'worker', SEED_COLLECTOR_ADDR: mesh.service('seed-collector').host.address, USER_EMBEDDING_ADDR: mesh.service('user-embedding').host.address });
      const logger = createLogger('clusterer-worker', 'silent');
      workerBus = await busFromConfig(config, 'clusterer-worker', logger);
      workerMetrics = createServiceMetrics('clusterer');
      worker = createClusterWorker(config, { bus: workerBus, logger, metrics: workerMetrics, now: Date.now, openStore: async () => { throw new Error('a worker keeps no state'); } });
      await worker.start!();
    }
  });
  afterAll(async () => {
    await worker?.stop!();
    await workerBus?.close();
    clients?.close();
    await mesh?.stop();
    await nats?.stop();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  /** A raw nats.js connection as one of the users (or anonymous). */
  async function as(name: string | undefined) {
    return connect({ servers: nats.url, ...(name && { user: `ralm-${name}`, pass: passwords[name]! }), ...(name && name !== 'admin' && { inboxPrefix: `_INBOX_ralm-${name}` }), timeout: 3000 });
  }

  /** Runs `work` on a raw connection as `name`, closed after. */
  async function asUser<T>(name: string, work: (nc: Awaited<ReturnType<typeof as>>) => Promise<T>): Promise<T> {
    const nc = await as(name);
    try {
      return await work(nc);
    } finally {
      await nc.close();
    }
  }

  /** Asks JetStream for the next message of a consumer of the RALM stream, as a puller would. */
  const pullNext = (nc: Awaited<ReturnType<typeof as>>, consumer: string) => nc.request(`$JS.API.CONSUMER.MSG.NEXT.RALM.${consumer}`, JSON.stringify({ batch: 1, expires: 1e9 }), { timeout: 3000 });

  /** The error text of `work`, or 'ok'. */
  const outcome = (work: () => Promise<unknown>) => work().then(() => 'ok', (err: Error) => String(err.message));

  describe('the per-service NATS users of k8s/values/nats.yaml', () => {
    it('run the real-time path end to end, each service as its own user', async () => {
      const sc = clients.seedCollector;
      await callUnary(sc.registerCandidate.bind(sc), { candidateId: 'perm-item', category: 'c', tags: [] });
      const clicks = userIds.slice(0, 25).map((userId, i) => ({ eventId: `p-${i}`, userId, candidateId: 'perm-item', timestampMs: Date.now() }));
      await expect(callUnary(sc.reportClicks.bind(sc), { clicks })).resolves.toMatchObject({ accepted: 25 });
      const sco = clients.lookalikeScorer;
      const scored = await waitFor(
        () => callUnary(sco.score.bind(sco), ScoreRequest.fromPartial({ userId: userIds[30]!, candidateIds: ['perm-item'], topK: 1 })).catch(() => undefined),
        (r) => (r?.scores.length ?? 0) > 0,
        30_000,
      );
      expect(scored!.scores[0]).toMatchObject({ candidateId: 'perm-item' });
      expect(scored!.modelVersion).toBe(version);
    });

    if (partitions > 1) it('lets a clustering worker take the coordinator’s jobs as its own user, and read no clicks', async () => {
      // The first test clustered 'perm-item': with two jobs in flight the queue spreads them, so ask for more.
      const sc = clients.seedCollector;
      for (const id of ['perm-a', 'perm-b', 'perm-c', 'perm-d']) {
        await callUnary(sc.registerCandidate.bind(sc), { candidateId: id, category: 'c', tags: [] });
        await callUnary(sc.reportClicks.bind(sc), { clicks: userIds.slice(0, 25).map((userId, i) => ({ eventId: `${id}-${i}`, userId, candidateId: id, timestampMs: Date.now() })) });
      }
      const jobs = async () => (await workerMetrics!.registry.getSingleMetric('ralm_clusterer_jobs_total')!.get()).values.filter((v) => v.labels['outcome'] === 'clustered').reduce((n, v) => n + v.value, 0);
      await waitFor(jobs, (n) => n > 0, 30_000);
      await asUser('clusterer-worker', async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 3000 });
        await expect(outcome(() => jsm.consumers.add('RALM', { durable_name: 'spy-worker', filter_subject: clickSubjectOf(0, partitions).name, ack_policy: 'explicit' as never }))).resolves.toMatch(/Permissions Violation|timeout/i);
      });
    });

    // Only a partitioned collector serves owner subjects.
    if (partitions > 1) it('lets the seed collector answer its owner subjects and another replica of it ask them', async () => {
      await asUser('seed-collector', async (nc) => {
        const reply = await nc.request('ralm.rpc.seed-collector.p0', new TextEncoder().encode(`${JSON.stringify({ m: 'Owner', d: null })}\n{}`), { timeout: 3000 });
        expect(reply.data[0]).toBe(0);
        expect(JSON.parse(new TextDecoder().decode(reply.data.subarray(1)))).toEqual({ ordinal: 0, replicas: 1 });
      });
    });

    it('refuses anonymous clients', async () => {
      await expect(outcome(() => as(undefined))).resolves.toMatch(/Authorization Violation/i);
    });

    it.each(['user-embedding', 'clusterer', 'lookalike-scorer', 'seed-collector'])('refuses a model announced by %s: only the trainer may publish model.published', async (name) => {
      await asUser(name, async (nc) => {
        const event = ModelPublished.encode(ModelPublished.fromPartial({ modelVersion: 'evil', artifactUri: '/tmp/evil' })).finish();
        await expect(outcome(() => jetstream(nc, { timeout: 3000 }).publish(Subjects.modelPublished.name, event))).resolves.toMatch(/Permissions Violation|timeout|no responders/i);
      });
      const trainer = await as('trainer');
      try {
        // The trainer may (the event names a model that does not exist: the services refuse to load it, as tested elsewhere).
        await expect(outcome(() => jetstream(trainer).publish(Subjects.modelPublished.name, ModelPublished.encode(ModelPublished.fromPartial({ modelVersion: 'x-' + name, artifactUri: '/nonexistent' })).finish()))).resolves.toBe('ok');
      } finally {
        await trainer.close();
      }
    });

    it.each(['user-embedding', 'clusterer', 'lookalike-scorer', 'trainer'])('lets %s read no clicks and publish none', async (name) => {
      await asUser(name, async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 3000 });
        await expect(outcome(() => jsm.consumers.add('RALM', { durable_name: `spy-${name}`, filter_subject: Subjects.clickRecorded.name, ack_policy: 'explicit' as never }))).resolves.toMatch(/Permissions Violation|timeout/i);
        await expect(outcome(() => jetstream(nc, { timeout: 3000 }).publish(clickSubjectOf(0, partitions).name, new Uint8Array([1])))).resolves.toMatch(/Permissions Violation|timeout|no responders/i);
        // Nor ask a partition's owner anything.
        await expect(outcome(() => nc.request('ralm.rpc.seed-collector.p0', new Uint8Array([1]), { timeout: 1000 }))).resolves.toMatch(/Permissions Violation|timeout|no responders/i);
        // Nor pull, ack or delete the seed collector's own click consumer (it exists: the first test used it).
        const clicks = clickConsumer();
        await expect(outcome(() => pullNext(nc, clicks))).resolves.toMatch(/Permissions Violation/i);
        await expect(outcome(() => jsm.consumers.delete('RALM', clicks))).resolves.toMatch(/Permissions Violation/i);
      });
    });

    it.each(['seed-collector', 'user-embedding', 'lookalike-scorer', 'trainer'])('lets %s neither pull, re-create nor delete the clusterer’s seeds consumer (seed user ids)', async (name) => {
      await asUser(name, async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 3000 });
        const seeds = consumerName('clusterer-seeds', Subjects.seedsUpdated.name);
        await expect(outcome(() => pullNext(nc, seeds))).resolves.toMatch(/Permissions Violation/i);
        await expect(outcome(() => jsm.consumers.add('RALM', { durable_name: seeds, filter_subject: Subjects.seedsUpdated.name, ack_policy: 'none' as never }))).resolves.toMatch(/Permissions Violation|timeout/i);
        await expect(outcome(() => jsm.consumers.delete('RALM', seeds))).resolves.toMatch(/Permissions Violation/i);
      });
      // Still there, still the clusterer's.
      const admin = await as('admin');
      try {
        await expect((await jetstreamManager(admin)).consumers.info('RALM', consumerName('clusterer-seeds', Subjects.seedsUpdated.name))).resolves.toMatchObject({ config: { ack_policy: 'explicit' } });
      } finally {
        await admin.close();
      }
    });

    it('lets the clusterer use no consumer but its own: not the seed collector’s clicks', async () => {
      await asUser('clusterer', async (nc) => {
        const clicks = clickConsumer();
        await expect(outcome(() => pullNext(nc, clicks))).resolves.toMatch(/Permissions Violation/i);
        await expect(outcome(() => nc.request(`$JS.API.CONSUMER.INFO.RALM.some-other-consumer`, '', { timeout: 3000 }))).resolves.toMatch(/Permissions Violation/i);
      });
    });

    it.each(['user-embedding', 'clusterer', 'lookalike-scorer', 'trainer'])('keeps the replies of others from %s: no shared _INBOX.>, no other service’s inbox', async (name) => {
      const nc = await as(name);
      const errors: string[] = [];
      try {
        // A refused subscription is reported asynchronously, as the connection's error.
        void (async () => {
          for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message ?? s.type));
        })();
        nc.subscribe('_INBOX.>');
        nc.subscribe('_INBOX_ralm-seed-collector.>');
        await nc.flush();
        await waitFor(async () => errors.length, (n) => n >= 2, 3000);
        expect(errors.join('\n')).toMatch(/Permissions Violation for Subscription to "_INBOX\.>"/);
        expect(errors.join('\n')).toMatch(/Permissions Violation for Subscription to "_INBOX_ralm-seed-collector\.>"/);
      } finally {
        await nc.close();
      }
    });

    it.each(SERVICES)('lets %s neither delete nor purge the stream, nor touch another service’s state bucket', async (name) => {
      await asUser(name, async (nc) => {
        const jsm = await jetstreamManager(nc, { timeout: 3000 });
        await expect(outcome(() => jsm.streams.delete('RALM'))).resolves.toMatch(/Permissions Violation|timeout/i);
        await expect(outcome(() => jsm.streams.purge('RALM'))).resolves.toMatch(/Permissions Violation|timeout/i);
        const other = name === 'seed-collector' ? 'clusterer' : 'seed-collector';
        await expect(outcome(() => jsm.streams.info(`OBJ_ralm-${other}`))).resolves.toMatch(/Permissions Violation|timeout/i);
        // The scorer's bucket (exclusion lists) is its own too.
        if (name !== 'lookalike-scorer') await expect(outcome(() => jsm.streams.info('OBJ_ralm-lookalike-scorer'))).resolves.toMatch(/Permissions Violation|timeout/i);
      });
      // Nothing was lost: the stream still holds the clicks of the first test.
      const info = await (await jetstreamManager(await as('admin'))).streams.info('RALM');
      expect(info.state.messages).toBeGreaterThan(25);
    });
  });
});
