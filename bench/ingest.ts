/**
 * Click ingest: how fast the SeedCollector applies `ralm.v1.click.recorded` to
 * its seed book, against how fast a plain JetStream pull consumer can merely
 * receive and ack the same messages, all on one real nats-server in one run:
 *
 *   raw        N ClickRecorded-sized messages (same payload, same Nats-Msg-Id
 *              header) in a stream of their own, drained by a plain durable
 *              pull consumer (consume() with a callback, ack each, the bus's
 *              consumer settings): the ceiling for any consumer here. Drained
 *              once before the SeedCollector's runs and once after, and the
 *              ratios taken against both together, since the load of a shared
 *              machine drifts within a run.
 *   backlog    N clicks (100 candidates, 50,000 users, unique event ids)
 *              published first by a standalone publisher, then the SeedCollector
 *              module started over them: its consumer starts at the stream's
 *              beginning (startSeq = appliedSeq + 1 = 1 on an empty state), so
 *              the time from start() to the book holding all N is consume +
 *              apply alone, with no publisher competing for the two cores.
 *   live       N more clicks published while it runs, timed from the first
 *              publish to all applied, with the publish rate beside it, so a
 *              reader can tell whether publishing or applying was the limit.
 *
 * The SeedCollector is built exactly as startMesh builds it (createSeedCollector
 * with the platform's bus, logger, metrics and state store), without the other
 * four services and without its gRPC server: neither is on the click path, and
 * starting the module ourselves is what lets the backlog timing start at the
 * consumer's start. The bus is opened as startMesh opens it (on the embedded
 * bus: journaled under the state directory). The same two runs on the embedded bus follow.
 * Prints messages/s and the ratio applied / raw; figures compare only within one run.
 *
 *   partitioned  the seed collector partitioned 1, 2 and 4 ways, one replica process per
 *              partition (services/seed-collector/src/main.ts, as the StatefulSet runs it),
 *              each on a fresh nats-server: N clicks published to the partition subjects
 *              first, then the replicas started over the backlog, each timed from its
 *              first applied click to its last (read from its metrics endpoint, so the
 *              process start is not counted). Per partition: what it applied / its span;
 *              total: all applied / first to last over all.
 *              On a 2-core machine the replicas, the publisher and nats-server share the
 *              cores: the figures say what scales here, not on a node per replica.
 *
 *   npx tsx bench/ingest.ts [--clicks 200000] [--partitions 1,2,4]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { callUnary, clickSubjectOf, createBusFromUrl, createLogger, createServiceMetrics, partitionOf, stateStoreOpener, Subjects, type EventBus } from '@ralm/platform';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';
import { createSeedCollector, loadSeedCollectorConfig, type SeedCollectorModule } from '@ralm/seed-collector';
// Not exported by the package: the benchmark registers candidates the way the RPC does, without a gRPC server.
import { registerCandidate } from '../services/seed-collector/src/handlers/register-candidate';
import { startReplicaProcess } from '../services/seed-collector/src/testing/replica-process';
import { credentials } from '@grpc/grpc-js';
import { SeedCollectorServiceClient } from '@ralm/proto/seed_collector';
import { arg, machineFacts, markdownTable, sleep, thousands } from './common';

const N = Number(arg('clicks', '200000'));
const PARTITION_COUNTS = arg('partitions', '1,2,4').split(',').map(Number);
const CANDIDATES = 100;
const USERS = 50_000;
/** Publishes in flight at once: enough to hide the PubAck round trip (the gRPC ingest path keeps 256). */
const PUBLISH_WINDOW = 1024;

interface Click {
  eventId: string;
  userId: string;
  candidateId: string;
  timestampMs: number;
}

const candidateId = (c: number) => `ingest-candidate-${c}`;

/** N clicks spread evenly over the candidates and (pseudo-randomly) over the users; `tag` keeps event ids unique per phase. */
function makeClicks(tag: string): Click[] {
  const now = Date.now();
  return Array.from({ length: N }, (_, i) => ({
    eventId: `${tag}-${i}`,
    userId: `user-${(i * 7919) % USERS}`,
    candidateId: candidateId(i % CANDIDATES),
    timestampMs: now,
  }));
}

/** Publishes with PUBLISH_WINDOW PubAcks outstanding; returns seconds. */
async function publishJs(js: JetStreamClient, subject: string, clicks: Click[]): Promise<{ seconds: number }> {
  const t0 = performance.now();
  for (let i = 0; i < clicks.length; i += PUBLISH_WINDOW) {
    await Promise.all(clicks.slice(i, i + PUBLISH_WINDOW).map((c) => js.publish(subject, Subjects.clickRecorded.encode(c), { msgID: c.eventId })));
  }
  return { seconds: (performance.now() - t0) / 1000 };
}

/**
 * The JetStream ceiling: N messages in a stream of their own, drained by plain
 * durable pull consumers that only ack. `consumeAll` may run more than once (a
 * new durable each time over the same messages), so the ceiling is measured
 * both before and after the SeedCollector runs and drift on a shared machine shows.
 */
async function rawJetStream(url: string) {
  const nc = await connect({ servers: url, name: 'bench-raw' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw.click'] });
  const js = jetstream(nc);
  const published = await publishJs(js, 'bench.raw.click', makeClicks('raw'));
  let round = 0;
  return {
    publishRate: N / published.seconds,
    async consumeAll(): Promise<number> {
      const durable = `raw-${round++}`;
      // The bus's consumer settings (explicit ack, max ack pending 256, consume() defaults), so only the handler differs.
      await jsm.consumers.add('BENCH_RAW', { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 256 });
      const consumer = await js.consumers.get('BENCH_RAW', durable);
      let received = 0;
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const t0 = performance.now();
      const messages = await consumer.consume({
        callback: (m) => {
          m.ack();
          if (++received === N) resolveDone();
        },
      });
      await done;
      const seconds = (performance.now() - t0) / 1000;
      await messages.close();
      return seconds;
    },
    async close() {
      await jsm.streams.delete('BENCH_RAW');
      await nc.close();
    },
  };
}

interface Run {
  seconds: number;
  rate: number;
  publishRate: number;
}

const totalClicks = (collector: SeedCollectorModule) => Array.from({ length: CANDIDATES }, (_, c) => collector.deps.book.get(candidateId(c)).totalClicks).reduce((a, b) => a + b, 0);

/**
 * Waits until the book counts `target` clicks over all candidates; polls every
 * 2 ms (a timer: it costs the consumer nothing measurable). A stall of 10 s
 * means clicks were rejected or dropped, which the benchmark must not hide.
 */
async function applied(collector: SeedCollectorModule, target: number): Promise<void> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const n = totalClicks(collector);
    if (n >= target) return;
    if (n !== last) [last, since] = [n, performance.now()];
    else if (performance.now() - since > 10_000) throw new Error(`seed book stalled at ${n} of ${target} clicks`);
    await sleep(2);
  }
}

/** Backlog then live on one bus. `publish` publishes a phase's clicks and returns its seconds. */
async function seedCollector(bus: EventBus, stateDir: string, natsUrl: string | undefined, publish: (clicks: Click[]) => Promise<number>) {
  const config = loadSeedCollectorConfig({ STATE_DIR: stateDir, LOG_LEVEL: 'silent', ...(natsUrl && { NATS_URL: natsUrl }) });
  const logger = createLogger('seed-collector', 'silent');
  const collector = await createSeedCollector(config, { bus, logger, metrics: createServiceMetrics('seed-collector'), now: Date.now, openStore: stateStoreOpener(config, logger) });
  let started = false;
  try {
    for (let c = 0; c < CANDIDATES; c++) await registerCandidate({ candidateId: candidateId(c), category: 'bench', tags: [] }, collector.deps);

    const backlogPublish = await publish(makeClicks(`backlog-${bus.kind}`));
    const t0 = performance.now();
    await collector.start!();
    started = true;
    await applied(collector, N);
    const backlogSeconds = (performance.now() - t0) / 1000;
    const backlog: Run = { seconds: backlogSeconds, rate: N / backlogSeconds, publishRate: N / backlogPublish };

    const t1 = performance.now();
    const livePublish = await publish(makeClicks(`live-${bus.kind}`));
    await applied(collector, 2 * N);
    const liveSeconds = (performance.now() - t1) / 1000;
    const live: Run = { seconds: liveSeconds, rate: N / liveSeconds, publishRate: N / livePublish };
    return { backlog, live };
  } finally {
    if (started) await collector.stop!();
  }
}

/** The bus as startMesh opens it: NATS JetStream at `natsUrl`, else the embedded bus journaled under the state directory. */
function meshBus(natsUrl: string | undefined, stateDir: string): Promise<EventBus> {
  return createBusFromUrl(natsUrl, { name: 'ralm-mesh', memory: { journalDir: path.join(stateDir, 'bus') } });
}

async function onNats(nats: NatsServer, root: string) {
  const stateDir = path.join(root, 'state-nats');
  // The bus first: it creates the RALM stream the standalone publisher writes to.
  const bus = await meshBus(nats.url, stateDir);
  const nc = await connect({ servers: nats.url, name: 'bench-publisher' });
  try {
    const js = jetstream(nc);
    return await seedCollector(bus, stateDir, nats.url, async (clicks) => (await publishJs(js, Subjects.clickRecorded.name, clicks)).seconds);
  } finally {
    await nc.close();
    await bus.close();
  }
}

async function onMemory(root: string) {
  const stateDir = path.join(root, 'state-memory');
  // With its journal the embedded bus keeps 1,000,000 messages: both phases fit.
  const bus = await meshBus(undefined, stateDir);
  try {
    return await seedCollector(bus, stateDir, undefined, async (clicks) => {
      const t0 = performance.now();
      for (let i = 0; i < clicks.length; i += PUBLISH_WINDOW) {
        await Promise.all(clicks.slice(i, i + PUBLISH_WINDOW).map((c) => bus.publish(Subjects.clickRecorded, c, { msgId: c.eventId })));
      }
      return (performance.now() - t0) / 1000;
    });
  } finally {
    await bus.close();
  }
}

/** Clicks this replica has applied from the bus, from its Prometheus endpoint. */
async function appliedBy(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => /_clicks_total\{/.test(l) && l.includes('source="bus"') && l.includes('outcome="applied"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * One partitioned run on a fresh nats-server: P replica processes register the candidates
 * (and create the stream), stop; N clicks are published to the partition subjects with no
 * consumer competing; P fresh replicas then consume the backlog. Each is timed from its
 * first applied click to its last (its process start excluded), read from its metrics.
 */
async function partitionedRun(partitions: number, root: string) {
  const nats = await startNatsServer({ jetstream: true });
  const env = { NATS_URL: nats.url, STATE_DIR: path.join(root, `state-p${partitions}`), SEED_PARTITIONS: String(partitions), SEED_REPLICAS: String(partitions), LOG_LEVEL: 'info' };
  const start = () => Promise.all(Array.from({ length: partitions }, (_, i) => startReplicaProcess(i, env)));
  let replicas = await start();
  const nc = await connect({ servers: nats.url, name: 'bench-publisher' });
  try {
    const client = new SeedCollectorServiceClient(replicas[0]!.address, credentials.createInsecure());
    // Registered through replica 0, which forwards each to its owner.
    for (let c = 0; c < CANDIDATES; c++) await callUnary(client.registerCandidate.bind(client), { candidateId: candidateId(c), category: 'bench', tags: [] });
    client.close();
    await Promise.all(replicas.map((r) => r.stop('SIGTERM')));
    const clicks = makeClicks(`p${partitions}`);
    const share = new Array<number>(partitions).fill(0);
    const subjects = clicks.map((c) => {
      const k = partitionOf(c.candidateId, partitions);
      share[k]!++;
      return clickSubjectOf(k, partitions).name;
    });
    const js = jetstream(nc);
    const p0 = performance.now();
    for (let i = 0; i < clicks.length; i += PUBLISH_WINDOW) {
      await Promise.all(clicks.slice(i, i + PUBLISH_WINDOW).map((c, j) => js.publish(subjects[i + j]!, Subjects.clickRecorded.encode(c), { msgID: c.eventId })));
    }
    const publishRate = N / ((performance.now() - p0) / 1000);
    const t0 = performance.now();
    replicas = await start();
    // Replica i owns partition i alone (replicas = partitions).
    const spans = await Promise.all(
      replicas.map(async (r, i) => {
        let first: { at: number; n: number } | undefined;
        let last = -1;
        let since = performance.now();
        for (;;) {
          const n = await appliedBy(r.metricsPort);
          const at = performance.now();
          if (n > 0 && !first) first = { at, n };
          if (n >= share[i]!) return { from: first!.at, to: at, applied: share[i]! - first!.n };
          if (n !== last) [last, since] = [n, at];
          else if (at - since > 20_000) throw new Error(`partition ${i} stalled at ${n} of ${share[i]} clicks`);
          await sleep(20);
        }
      }),
    );
    const from = Math.min(...spans.map((s) => s.from));
    const to = Math.max(...spans.map((s) => s.to));
    const applied = spans.reduce((a, s) => a + s.applied, 0);
    return {
      partitions,
      seconds: (to - from) / 1000,
      startSeconds: (from - t0) / 1000,
      rate: applied / ((to - from) / 1000),
      publishRate,
      perPartition: spans.map((s) => s.applied / ((s.to - s.from) / 1000)),
    };
  } finally {
    await nc.close();
    await Promise.all(replicas.map((r) => r.stop('SIGTERM')));
    await nats.stop();
  }
}

async function partitionedRuns(root: string): Promise<void> {
  const runs = [];
  for (const p of PARTITION_COUNTS) {
    const run = await partitionedRun(p, root);
    console.log(`partitioned ${p}: backlog applied ${thousands(run.rate)}/s in total in ${run.seconds.toFixed(2)} s (first click ${run.startSeconds.toFixed(1)} s after the processes were spawned; published alone at ${thousands(run.publishRate)}/s); per partition ${run.perPartition.map(thousands).join(', ')}/s`);
    runs.push(run);
  }
  const base = runs[0]!;
  console.log();
  console.log(
    markdownTable(
      ['partitions (one process each)', 'seconds (backlog)', 'applied/s, total', 'applied/s per partition (mean)', 'published/s (alone)', `total / ${base.partitions} partition${base.partitions === 1 ? '' : 's'}`],
      runs.map((r) => [String(r.partitions), r.seconds.toFixed(2), thousands(r.rate), thousands(r.perPartition.reduce((a, b) => a + b, 0) / r.partitions), thousands(r.publishRate), `×${(r.rate / base.rate).toFixed(2)}`]),
    ),
  );
}

(async () => {
  console.log(`bench/ingest: ${machineFacts('ingest')}`);
  const sample = makeClicks('backlog-nats')[N - 1]!;
  console.log(
    `${thousands(N)} clicks per run over ${CANDIDATES} candidates and ${thousands(USERS)} users; ClickRecorded payload ${Subjects.clickRecorded.encode(sample).length} bytes + Nats-Msg-Id; ` +
      `file-backed JetStream; ${PUBLISH_WINDOW} publishes in flight; SeedCollector settings at their defaults`,
  );
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-bench-ingest-'));
  const nats = await startNatsServer({ jetstream: true });
  try {
    const raw = await rawJetStream(nats.url);
    const rawBefore = await raw.consumeAll();
    const natsRuns = await onNats(nats, root);
    const rawAfter = await raw.consumeAll();
    await raw.close();
    const rawRate = (2 * N) / (rawBefore + rawAfter);
    console.log(`raw JetStream: published ${thousands(raw.publishRate)}/s; consumed and acked ${thousands(N / rawBefore)}/s before the SeedCollector runs, ${thousands(N / rawAfter)}/s after (ratios below: against both together)`);
    const onBus = { nats: natsRuns, memory: await onMemory(root) };
    const rows: string[][] = [
      ['raw JetStream pull consumer, ack only (before)', 'nats', rawBefore.toFixed(2), thousands(N / rawBefore), thousands(raw.publishRate), ((N / rawBefore) / rawRate).toFixed(2)],
      ['raw JetStream pull consumer, ack only (after)', 'nats', rawAfter.toFixed(2), thousands(N / rawAfter), '', ((N / rawAfter) / rawRate).toFixed(2)],
    ];
    for (const bus of ['nats', 'memory'] as const) {
      for (const [phase, label] of [['backlog', 'SeedCollector, backlog (consume + apply)'], ['live', 'SeedCollector, live (publishing while it applies)']] as const) {
        const r = onBus[bus][phase];
        console.log(`${bus.padEnd(6)} ${phase.padEnd(7)} applied ${thousands(r.rate)}/s in ${r.seconds.toFixed(2)} s; published ${thousands(r.publishRate)}/s`);
        rows.push([label, bus, r.seconds.toFixed(2), thousands(r.rate), thousands(r.publishRate), (r.rate / rawRate).toFixed(2)]);
      }
    }
    console.log();
    console.log(markdownTable(['run', 'bus', 'seconds', 'messages/s', 'published/s', '/ raw JetStream (both drains)'], rows));
    console.log();
    const ratio = onBus.nats.backlog.rate / rawRate;
    console.log(`applied / raw JetStream consume (backlog, nats): ${ratio.toFixed(3)}; memory / nats (backlog): ×${(onBus.memory.backlog.rate / onBus.nats.backlog.rate).toFixed(1)}`);
    console.log(`target: at least half the raw JetStream consume rate: ${ratio >= 0.5 ? 'met' : 'NOT met'}`);
    console.log();
    await partitionedRuns(root);
  } finally {
    await nats.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
