/**
 * Freshness of a brand-new candidate: how long after the click that gives it
 * its 100th distinct clicker (SERVABLE_MIN_SEEDS = 100) its
 * clusters are served, through the five services started in-process (startMesh)
 * with a tiny trained model, on the embedded bus and on a real nats-server with
 * JetStream. Per candidate: register it, publish its first 99 clicks (99
 * distinct trained users) on `ralm.v1.click.recorded` at once, wait until the
 * seed book holds the 99, then time from just before publishing the 100th to
 *   - `seeds.updated` with ≥ 100 seeds seen on the bus (the SeedCollector's announcement),
 *   - `clusters.updated` seen on the bus (the Clusterer stored and announced them),
 *   - the first GetClusters that succeeds (one call after that event; polled if it failed).
 * Waiting for the 99 isolates the threshold crossing: in traffic the first 99
 * clicks arrive spread out and are long applied when the 100th comes. Prints
 * p50/p90/p99/max in ms per bus; figures compare only within one run.
 *
 *   npx tsx bench/freshness.ts [--candidates 50] [--warmup 3]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { callUnary, Subjects, type BusSubscription } from '@ralm/platform';
import { ScoreRequest } from '@ralm/proto/lookalike_scorer';
import type { ClustererModule } from '@ralm/clusterer';
import type { SeedCollectorModule } from '@ralm/seed-collector';
import { startLoopbackMesh, type LoopbackMesh } from '../tests/support/mesh';
import { trainTinyModel } from '../tests/support/tiny-model';
import { arg, machineFacts, markdownTable, percentile, sleep } from './common';

const candidates = Number(arg('candidates', '50'));
/** Candidates run first and not counted: the first ones pay for JIT, gRPC channel set-up and consumer start-up. */
const warmup = Number(arg('warmup', '3'));
const SEEDS = 100;
/** A candidate whose clusters have not appeared by then is counted as missing, not waited on forever. */
const TIMEOUT_MS = 10_000;

type Stage = 'seeds' | 'clusters' | 'getClusters' | 'score';
const STAGES: Array<[Stage, string]> = [
  ['seeds', 'seeds.updated (≥ 100 seeds) seen'],
  ['clusters', 'clusters.updated seen'],
  ['getClusters', 'GetClusters succeeds'],
  ['score', 'Score says servable'],
];

/** Resolves the next time `key` is signalled, with the signal's time; one waiter per key. */
class Signals {
  private readonly waiters = new Map<string, (t: number) => void>();
  wait(key: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`no ${key} within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      this.waiters.set(key, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }
  signal(key: string): void {
    const t = performance.now();
    const waiter = this.waiters.get(key);
    this.waiters.delete(key);
    waiter?.(t);
  }
}

async function runMode(bus: 'memory' | 'nats', root: string, userIds: string[]) {
  let loop: LoopbackMesh | undefined;
  const probes: BusSubscription[] = [];
  try {
    loop = await startLoopbackMesh(bus, { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, `state-${bus}`) });
    const { mesh, clients } = loop;
    const book = (mesh.service('seed-collector').module as SeedCollectorModule).deps.book;
    // The Clusterer's own histogram splits the latency: its job (ListSeeds, GetEmbeddings ×2, k-means, store) against the bus hops around it.
    const jobSeconds = async () => {
      const values = (await (mesh!.service('clusterer').module as ClustererModule).deps.metrics.seconds.get()).values;
      const pick = (suffix: string) => values.find((v) => v.metricName?.endsWith(suffix))?.value ?? 0;
      return { sum: pick('_sum'), count: pick('_count') };
    };
    let jobsBefore = { sum: 0, count: 0 };
    const signals = new Signals();
    // Fresh durables that start at the end of the stream: they see only this run's events, as any downstream consumer would.
    const durable = `bench-freshness-${process.pid}-${Date.now()}`;
    const onSeeds = async (e: { candidateId: string; seedCount: number }) => {
      if (e.seedCount >= SEEDS) signals.signal(`seeds:${e.candidateId}`);
    };
    probes.push(
      await mesh.bus.subscribe(Subjects.seedsUpdated, onSeeds, { durable: `${durable}-seeds`, deliverPolicy: 'new' }),
      await mesh.bus.subscribe(Subjects.clustersUpdated, async (e) => signals.signal(`clusters:${e.candidateId}`), { durable: `${durable}-clusters`, deliverPolicy: 'new' }),
    );
    const sc = clients.seedCollector;
    const cl = clients.clusterer;
    const samples: Record<Stage, number[]> = { seeds: [], clusters: [], getClusters: [], score: [] };
    const ls = clients.lookalikeScorer;
    const burstMs: number[] = [];
    let missing = 0;
    for (let c = 0; c < warmup + candidates; c++) {
      const candidateId = `fresh-${bus}-${c}`;
      if (c === warmup) jobsBefore = await jobSeconds();
      await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'news', tags: ['new'] });
      // A different window of the trained users for each candidate, so no two candidates share a seed set.
      const clicks = Array.from({ length: SEEDS }, (_, i) => {
        const userId = userIds[(c * 37 + i) % userIds.length]!;
        return { eventId: `${candidateId}-${i}`, userId, candidateId, timestampMs: Date.now() };
      });
      const burstStart = performance.now();
      await Promise.all(clicks.slice(0, SEEDS - 1).map((m) => mesh!.bus.publish(Subjects.clickRecorded, m, { msgId: m.eventId })));
      while (book.seedCount(candidateId) < SEEDS - 1) await sleep(1);
      const burst = performance.now() - burstStart;
      const seeds = signals.wait(`seeds:${candidateId}`);
      const clusters = signals.wait(`clusters:${candidateId}`);
      const last = clicks[SEEDS - 1]!;
      const t0 = performance.now();
      await mesh.bus.publish(Subjects.clickRecorded, last, { msgId: last.eventId });
      try {
        const [tSeeds, tClusters] = await Promise.all([seeds, clusters]);
        // The event says the clusters are stored and served; one call confirms it, a tight poll covers the case where it does not.
        let tServed: number | undefined;
        while (tServed === undefined && performance.now() - t0 < TIMEOUT_MS) {
          const ok = await callUnary(cl.getClusters.bind(cl), { candidateId }).then(
            (r) => r.seedCount >= SEEDS,
            () => false,
          );
          if (ok) tServed = performance.now();
          else await sleep(2);
        }
        if (tServed === undefined) throw new Error('GetClusters never succeeded');
        // Then the scorer: it fetches the clusters on clusters.updated and precomputes the candidate's rows.
        let tScored: number | undefined;
        while (tScored === undefined && performance.now() - t0 < TIMEOUT_MS) {
          const reply = await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: clicks[0]!.userId, candidateIds: [candidateId] }));
          if (reply.scores[0]?.servable) tScored = performance.now();
          else await sleep(1);
        }
        if (tScored === undefined) throw new Error('Score never reported the candidate servable');
        if (c < warmup) continue;
        samples.score.push(tScored - t0);
        samples.seeds.push(tSeeds - t0);
        samples.clusters.push(tClusters - t0);
        samples.getClusters.push(tServed - t0);
        burstMs.push(burst);
      } catch {
        seeds.catch(() => undefined);
        clusters.catch(() => undefined);
        if (c >= warmup) missing++;
      }
    }
    const jobsAfter = await jobSeconds();
    const jobMs = ((jobsAfter.sum - jobsBefore.sum) * 1000) / Math.max(1, jobsAfter.count - jobsBefore.count);
    return { bus, samples, burstMs, missing, jobMs };
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
    await loop?.stop();
  }
}

(async () => {
  console.log(`bench/freshness: ${machineFacts('freshness')}`);
  console.log(
    `${candidates} brand-new candidates per bus (after ${warmup} warm-up), sequential; ${SEEDS} distinct clickers each (SERVABLE_MIN_SEEDS = ${SEEDS}); ` +
      `tiny trained model (d = 16, so k-means on 100 seeds costs next to nothing); every other setting at its default`,
  );
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-bench-freshness-'));
  try {
    const trainStart = performance.now();
    const model = await trainTinyModel(path.join(root, 'models'));
    console.log(`tiny model ${model.version} trained in ${((performance.now() - trainStart) / 1000).toFixed(1)} s (${model.userIds.length} users)`);
    const results = [];
    for (const bus of ['memory', 'nats'] as const) {
      const r = await runMode(bus, root, model.userIds);
      results.push(r);
      const q = (v: number[]) => `p50 ${percentile(v, 0.5).toFixed(1)}  p90 ${percentile(v, 0.9).toFixed(1)}  p99 ${percentile(v, 0.99).toFixed(1)}  max ${percentile(v, 1).toFixed(1)} ms`;
      console.log(`${bus.padEnd(6)} GetClusters after the 100th click: ${q(r.samples.getClusters)}; clusters.updated: ${q(r.samples.clusters)}; ` + `missing after ${TIMEOUT_MS / 1000} s: ${r.missing}`);
      console.log(
        `${bus.padEnd(6)} of which the Clusterer's job (ListSeeds, GetEmbeddings ×2, k-means, store) takes ${r.jobMs.toFixed(1)} ms on average; ` +
          `the first 99 clicks, published at once, were applied in p50 ${percentile(r.burstMs, 0.5).toFixed(1)} ms, max ${percentile(r.burstMs, 1).toFixed(1)} ms`,
      );
    }
    const rows = results.flatMap((r) =>
      STAGES.map(([stage, label]) => {
        const v = r.samples[stage];
        return [r.bus, label, String(v.length), ...[0.5, 0.9, 0.99, 1].map((p) => percentile(v, p).toFixed(1))];
      }),
    );
    console.log();
    console.log(markdownTable(['bus', 'after publishing the 100th click', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], rows));
    console.log();
    const memory = results.find((r) => r.bus === 'memory')!;
    const nats = results.find((r) => r.bus === 'nats')!;
    console.log(`nats / memory, GetClusters p50: ×${(percentile(nats.samples.getClusters, 0.5) / percentile(memory.samples.getClusters, 0.5)).toFixed(1)}`);
    for (const r of results) {
      for (const [stage, name] of [['getClusters', 'GetClusters'], ['score', 'Score servable']] as const) {
        const p99 = percentile(r.samples[stage], 0.99);
        console.log(`target: ${name} p99 under 1 s on the ${r.bus} bus: ${p99 < 1000 && r.missing === 0 ? 'met' : 'NOT met'} (${p99.toFixed(1)} ms${r.missing ? `, ${r.missing} missing` : ''})`);
      }
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
