/**
 * A model rollout under steady Score load (issue 14): the five services in one
 * process (startMesh, embedded bus, so everything shares one core), N candidates
 * with `--seeds` distinct clickers each, all servable on model A; then model B is
 * published while one caller scores a user against every candidate in a loop.
 * Prints, per N:
 *   - seconds from the publish to the first reply on B that covers all N,
 *     with the clusterer's share (until it has clustered every candidate with B);
 *   - replies that lost coverage (fewer than N servable; goal 0);
 *   - replies that mixed versions (a candidate's clusters not those of the reply's
 *     model: on A the clustering version recorded before, on B the one after; goal 0);
 *   - failed calls.
 *
 *   npx tsx bench/rollout.ts [--candidates 1000,10000] [--seeds 1000] [--users 5000] [--dim 32] [--rate 50]
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { callUnary, Subjects } from '@ralm/platform';
import { Rng, sampleIndices } from '@ralm/model';
import { ScoreRequest } from '@ralm/proto/lookalike_scorer';
import { startLoopbackMesh } from '../tests/support/mesh';
import { TINY_MODEL, trainTinyModel } from '../tests/support/tiny-model';
import { arg, machineFacts, markdownTable, sleep, thousands } from './common';

const sizes = arg('candidates', '1000,10000').split(',').map(Number);
const seedsEach = Number(arg('seeds', '1000'));
const users = Number(arg('users', '5000'));
const dim = Number(arg('dim', '32'));
/** Score calls per second, one at a time: steady traffic, not a saturating loop that would starve the rollout of the one core. */
const rate = Number(arg('rate', '50'));
const CONFIG = { ...TINY_MODEL, userDim: dim, lookalikeDim: dim, fieldDim: 16, attentionSize: 16, hidden: [64] };

async function counts(cl: ReturnType<typeof clientsOf>['clusterer'], version: string) {
  for await (const page of cl.listClusters({ modelVersion: version, countsOnly: true })) return page as { servable: number; clusteredWithModel: number };
  throw new Error('no counts');
}
const clientsOf = (loop: Awaited<ReturnType<typeof startLoopbackMesh>>) => loop.clients;

async function run(n: number, models: Array<{ version: string; dir: string }>, userIds: string[]): Promise<string[]> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-bench-rollout-'));
  await fs.cp(models[0]!.dir, path.join(root, 'models', models[0]!.version), { recursive: true });
  const loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state'), LOG_LEVEL: 'silent', ROLLOUT_TIMEOUT_SECONDS: '3600' });
  const { seedCollector: sc, clusterer: cl, lookalikeScorer: ls } = loop.clients;
  try {
    const ids = Array.from({ length: n }, (_, i) => `cand-${i}`);
    const rng = new Rng(n);
    const setup = performance.now();
    for (let i = 0; i < n; i += 10) {
      const group = ids.slice(i, i + 10);
      for (const candidateId of group) await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'bench', tags: [] });
      const clicks = group.flatMap((candidateId) => Array.from(sampleIndices(userIds.length, seedsEach, rng), (u) => ({ eventId: `${candidateId}:${u}`, userId: userIds[u]!, candidateId, timestampMs: Date.now() })));
      await callUnary(sc.reportClicks.bind(sc), { clicks });
    }
    const [a, b] = models.map((m) => m.version) as [string, string];
    for (;;) {
      const c = await counts(cl, a);
      if (c.servable === n && c.clusteredWithModel === n) break;
      await sleep(500);
    }
    const score = () => callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: userIds[0]!, topK: 0 }), { timeoutMs: 60_000 });
    for (;;) {
      const r = await score().catch(() => undefined);
      if (r && r.scores.length === n) break;
      await sleep(200);
    }
    const before = new Map<string, number>();
    for await (const page of cl.listClusters({ modelVersion: a, countsOnly: false })) for (const c of (page as { candidates: Array<{ candidateId: string; clusterVersion: number }> }).candidates) before.set(c.candidateId, c.clusterVersion);
    const setupSeconds = (performance.now() - setup) / 1000;

    const stats = { replies: 0, lost: 0, mixed: 0, failed: 0, onB: 0 };
    let clustererDone = Number.NaN;
    let covered = Number.NaN;
    const published = performance.now();
    const dir = path.join(root, 'models', b);
    await fs.cp(models[1]!.dir, dir, { recursive: true });
    await loop.mesh.bus.publish(Subjects.modelPublished, { modelVersion: b, artifactUri: pathToFileURL(dir).href, userDim: dim, lookalikeDim: dim, publishedAtMs: Date.now(), metrics: {} });
    const watcher = (async () => {
      while (Number.isNaN(clustererDone)) {
        const c = await counts(cl, b);
        if (c.clusteredWithModel === c.servable) clustererDone = (performance.now() - published) / 1000;
        else await sleep(250);
      }
    })();
    let quietAfter = Infinity;
    for (let next = performance.now(); performance.now() < quietAfter; ) {
      next += 1000 / rate;
      await sleep(Math.max(0, next - performance.now()));
      let r;
      try {
        r = await score();
      } catch {
        stats.failed++;
        continue;
      }
      stats.replies++;
      if (r.scores.length < n) stats.lost++;
      const onB = r.modelVersion === b;
      if (r.scores.some((s) => s.clusterVersion !== before.get(s.candidateId)! + (onB ? 1 : 0))) stats.mixed++;
      if (onB) stats.onB++;
      if (onB && r.scores.length === n && Number.isNaN(covered)) {
        covered = (performance.now() - published) / 1000;
        quietAfter = performance.now() + 2_000; // a little load after the swap too
      }
      if (performance.now() - published > 3_600_000) break;
    }
    await watcher;
    console.error(`  ${n} candidates: setup ${setupSeconds.toFixed(1)} s, covered on the new model after ${covered.toFixed(1)} s`);
    return [thousands(n), thousands(seedsEach), covered.toFixed(1), clustererDone.toFixed(1), thousands(stats.replies), String(stats.lost), String(stats.mixed), String(stats.failed), setupSeconds.toFixed(0)];
  } finally {
    await loop.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(machineFacts('rollout'));
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-bench-models-'));
  try {
    const models: Array<{ version: string; dir: string }> = [];
    let userIds: string[] = [];
    for (const seed of [5, 9]) {
      const trained = await trainTinyModel(path.join(staging, `m${seed}`), users, { ...CONFIG, seed });
      models.push({ version: trained.version, dir: path.join(staging, `m${seed}`, trained.version) });
      userIds = trained.userIds;
    }
    console.log(`model d = h = ${dim}, ${userIds.length} users, k = 20, ${seedsEach} seeds per candidate drawn from them`);
    const rows: string[][] = [];
    for (const n of sizes) rows.push(await run(n, models, userIds));
    console.log(
      markdownTable(['candidates', 'seeds each', 'publish → every reply on B, full coverage (s)', 'of which: clusterer done with B (s)', 'replies during rollout', 'lost coverage', 'mixed versions', 'failed', 'setup (s)'], rows),
    );
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
