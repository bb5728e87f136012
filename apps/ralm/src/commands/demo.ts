import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { synthesizeToDir, writeDataset, type Dataset } from '@ralm/data';
import { sameUsersMarkdown, splitByTime, table2Markdown, trainView } from '@ralm/eval';
import { kmeans, Rng } from '@ralm/model';
import { callUnary, statusName, Subjects } from '@ralm/platform';
import { JobState, TrainingConfig, UserTower, type WatchJobResponse } from '@ralm/proto/trainer';
import { embeddingSourceToJSON, ExpandAudienceRequest, ExplainRequest, notServableReasonToJSON, ScoreRequest, type ExpandAudienceResponse, type ScoreResponse } from '@ralm/proto/lookalike_scorer';
import { EmbeddingKind } from '@ralm/proto/user_embedding';
import { connectClients, featuresOf, startMesh, waitFor, type Mesh, type MeshClients } from '@ralm/mesh';
import { describeMesh } from '../mesh-file';
import { simulateAb } from './ab-sim';
import { formatHealth, probeMesh } from './status';

export interface DemoOptions {
  natsUrl?: string;
  host: string;
  logLevel: string;
  /** Environment the services' configs are read from (the CLI passes its own). */
  baseEnv: NodeJS.ProcessEnv;
}

const say = (line = '') => process.stdout.write(`${line}\n`);
const ms = (from: number) => `${(performance.now() - from).toFixed(0)} ms`;

/** The answer of a call that is expected to fail, as `CODE: details`. */
async function statusOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    const e = err as ServiceError;
    return `${statusName(e.code)}: ${e.details}`;
  }
}

const AUDIENCES = 3;
const SEEDS = 120;

/**
 * The whole story on embedded defaults, in about a minute: synthetic data, a
 * small model trained by the Trainer service, brand-new long-tail candidates
 * whose first clickers stream in on the bus, each servable moments after its
 * 100th distinct clicker, users scored with their top candidates and why, the paper's
 * online A/B test (Table 2) estimated by simulation on the same data and model, and last the
 * dual query: one new candidate's audience expanded, and its first user explained.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const started = performance.now();
  // A fresh directory: the tour starts from nothing every time it runs.
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-demo-'));
  try {
    await meshTour(options, root, started);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
  say(`\n   The whole demo took ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  return 0;
}

/** Steps 1–10: data, the mesh, training, new candidates servable after their 100th clicker, scoring, metrics, the A/B estimate, an expansion. */
async function meshTour(options: DemoOptions, root: string, started: number): Promise<void> {
  let mesh: Mesh | undefined;
  let clients: MeshClients | undefined;
  try {
    say('1. Synthetic data: 3,000 users with six profile fields, 150 items, their clicks.');
    const dataDir = path.join(root, 'data');
    const dataset = await synthesizeToDir({ users: 3000, items: 150, seed: 42 }, dataDir);
    say(`   ${dataset.users.ids.length} users, ${dataset.items.ids.length} items, ${dataset.events.user.length} events in ${dataDir}`);

    mesh = await startMesh({
      ...options,
      portBase: 0,
      env: { STATE_DIR: path.join(root, 'state'), TRAINING_DATA_ROOT: root, MODEL_ROOT: path.join(root, 'models'), TRAINING_WORK_DIR: path.join(root, 'training'), PROGRESS_INTERVAL_MS: '500' },
    });
    clients = connectClients(mesh);
    say(`\n2. Mesh up on the ${mesh.bus.kind} bus:`);
    const health = await probeMesh(describeMesh(mesh, options.host));
    say(formatHealth(health));
    if (!health.every((h) => h.status === 'SERVING')) throw new Error('a service is not SERVING');

    // The Trainer learns from the days before the A/B replay of step 9 only, so the simulated
    // Table 2 never scores users with embeddings that saw the clicks it replays.
    const trainDir = path.join(root, 'train-data');
    await writeDataset(trainDir, trainView(splitByTime(dataset)));
    // StartTraining names datasets relative to the trainer's TRAINING_DATA_ROOT (here the demo's root).
    const version = await trainModel(clients, path.relative(root, trainDir));
    // Asked over gRPC, as a recommender would see it: the model version Score answers with.
    const ls = clients.lookalikeScorer;
    const anyUser = ScoreRequest.fromPartial({ userId: dataset.users.ids[0]!, topK: 1 });
    await waitFor(() => callUnary(ls.score.bind(ls), anyUser).then((r) => r.modelVersion, () => undefined), (v) => v === version, 30_000);
    say(`   UserEmbedding and LookalikeScorer swapped to model ${version} on ralm.v1.model.published.`);

    // Audiences that look alike in the model's space: 3-means over unit look-alike embeddings.
    const ue = clients.userEmbedding;
    const all = await callUnary(ue.getEmbeddings.bind(ue), { userIds: dataset.users.ids, kind: EmbeddingKind.EMBEDDING_KIND_LOOKALIKE, modelVersion: '' });
    const h = all.dimension;
    const live = all.embeddings.filter((e) => e.values.some((v) => v !== 0));
    const points = new Float32Array(live.length * h);
    live.forEach((e, i) => {
      const norm = Math.hypot(...e.values);
      points.set(e.values.map((v) => v / norm), i * h);
    });
    const { assignments } = kmeans(points, h, AUDIENCES, new Rng(11));
    const audiences = Array.from({ length: AUDIENCES }, (_, a) => live.filter((_, i) => assignments[i] === a).map((e) => e.userId));
    say(`\n4. ${AUDIENCES} audience segments found in the model's look-alike space: ${audiences.map((a) => a.length).join(', ')} users.`);

    const candidates = await streamNewCandidates(mesh, clients, audiences);
    await scoreUsers(clients, dataset, audiences, candidates);

    say('\n7. Prometheus metrics (a few of them):');
    for (const s of mesh.services) {
      const body = await (await fetch(`http://${options.host}:${s.host.metricsPort}/metrics`)).text();
      const pick = body.split('\n').filter((l) => /_(clicks_total|clusterings_total|servable_candidates|scored_candidates_total|seeds_updated_published_total)\b/.test(l) && !l.startsWith('#'));
      say(`   ${s.name.padEnd(16)} ${body.split('\n').filter((l) => l && !l.startsWith('#')).length} samples${pick.length ? `; ${pick.slice(0, 2).join('; ')}` : ''}`);
    }
    await abSimulationStep(root);
    // Last, the other half of look-alike work: the audience of one new candidate, and why.
    await expandOne(clients, audiences, candidates[0]!);
  } finally {
    clients?.close();
    await mesh?.stop();
  }
  say(`\n10. Mesh stopped cleanly, ${((performance.now() - started) / 1000).toFixed(1)} s into the demo.`);
}

/**
 * Step 8: the paper's Table 2 estimated offline (the mesh stays up for step 9), by `ralm ab-sim` on the tour's data and the
 * model the Trainer published (B = 100 keeps it to a few seconds).
 */
async function abSimulationStep(root: string): Promise<void> {
  const t0 = performance.now();
  const report = await simulateAb({ data: path.join(root, 'data'), model: path.join(root, 'models'), bootstrap: 100, backend: 'auto' });
  const d = report.dataset;
  say(`\n8. A/B simulation of the paper's Table 2 (\`ralm ab-sim\`): ${d.replayedDays} held-out days replayed from ${d.cutoffIso.slice(0, 16)}Z, ` +
    `${report.arms.control.users} control and ${report.arms.treatment.users} treatment users, ${report.options.extensionShare * 100}% of treatment slots to look-alike long-tail items (${ms(t0)}):`);
  const indent = (text: string) => text.trimEnd().split('\n').map((line) => `   ${line}`).join('\n');
  say(`   ${report.statement}`);
  say(indent(table2Markdown(report)));
  say(`   ${report.giniDirection}`);
  say("   The treatment arm's users replayed again without the extension (same slots and draws): its effect on the same people.");
  say(indent(sameUsersMarkdown(report)));
  for (const note of report.notes) say(`   - ${note}`);
}

/** StartTraining → WatchJob to the end; returns the published model version. */
async function trainModel(clients: MeshClients, dataDir: string): Promise<string> {
  const tr = clients.trainer;
  const config = TrainingConfig.fromPartial({
    dataDir,
    tower: UserTower.USER_TOWER_ATTENTION_MERGE,
    userDim: 32,
    lookalikeDim: 32,
    fieldDim: 16,
    attentionSize: 16,
    clusters: 5,
    phase1Epochs: 3,
    phase2Epochs: 2,
    batchSize: 128,
    learningRate: 0.005,
    seed: 3,
  });
  const t0 = performance.now();
  const { job } = await callUnary(tr.startTraining.bind(tr), { config });
  say(`\n3. Trainer.StartTraining: job ${job!.jobId} (d = h = 32, 3 + 2 epochs); WatchJob:`);
  let last: WatchJobResponse | undefined;
  let lastLine = '';
  for await (const update of tr.watchJob({ jobId: job!.jobId }) as AsyncIterable<WatchJobResponse>) {
    last = update;
    const p = update.job!.progress!;
    const line = `   phase ${p.phase} epoch ${p.epoch}/${p.epochs}`;
    if (line !== lastLine && p.epoch > 0) {
      say(`${line}: loss ${p.loss.toFixed(4)}${p.validationAuc ? `, validation AUC ${p.validationAuc.toFixed(3)}` : ''}`);
      lastLine = line;
    }
  }
  const final = last!.job!;
  if (final.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`training failed: ${final.error}`);
  say(`   model ${final.modelVersion} trained and published in ${ms(t0)}.`);
  return final.modelVersion;
}

interface DemoCandidate {
  id: string;
  audience: number;
}

/** New long-tail candidates, one per audience, whose first clickers stream in on the bus. */
async function streamNewCandidates(mesh: Mesh, clients: MeshClients, audiences: string[][]): Promise<DemoCandidate[]> {
  const sc = clients.seedCollector;
  const ls = clients.lookalikeScorer;
  const run = Date.now().toString(36);
  say(`\n5. Brand-new long-tail candidates, each clicked by ${SEEDS} users of one segment (published on ralm.v1.click.recorded):`);
  const out: DemoCandidate[] = [];
  for (const [a, audience] of audiences.entries()) {
    const id = `new-article-${a + 1}-${run}`;
    await callUnary(sc.registerCandidate.bind(sc), { candidateId: id, category: 'long-tail', tags: [`segment-${a + 1}`] });
    // The mesh's own minimum (SERVABLE_MIN_SEEDS, one setting for every service), as the seed collector reports it.
    const minSeeds = (await callUnary(sc.getSeedStats.bind(sc), { candidateId: id })).servableMinSeeds;
    if (SEEDS <= minSeeds) throw new Error(`the demo streams ${SEEDS} clickers per candidate, but SERVABLE_MIN_SEEDS is ${minSeeds}`);
    const servable = async () => (await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: audience[SEEDS]!, candidateIds: [id] }))).scores[0]!;
    let reachedMin = 0;
    let before = '';
    for (let i = 0; i < SEEDS; i++) {
      const eventId = `${run}-${a}-${i}`;
      if (i === minSeeds - 1) {
        // Just under the minimum: the scorer says why it will not score it yet.
        await waitFor(() => callUnary(sc.getSeedStats.bind(sc), { candidateId: id }), (s) => s.seedCount === minSeeds - 1, 10_000);
        before = `at ${minSeeds - 1} seeds Score says ${notServableReasonToJSON((await servable()).notServableReason).replace('NOT_SERVABLE_REASON_', '')}`;
        reachedMin = performance.now();
      }
      await mesh.bus.publish(Subjects.clickRecorded, { eventId, userId: audience[i]!, candidateId: id, timestampMs: Date.now() }, { msgId: eventId });
    }
    const s = await waitFor(servable, (r) => r.servable, 10_000, 1);
    const took = ms(reachedMin);
    say(`   ${id}: ${before}; servable ${took} after its ${minSeeds}th clicker (clusters v${s.clusterVersion}, ${s.seedCount} seeds)`);
    out.push({ id, audience: a });
  }
  return out;
}

/** Step 9, the dual query: the users most like one new candidate's seeds (ExpandAudience), and why the first was chosen (Explain). */
async function expandOne(clients: MeshClients, audiences: string[][], candidate: DemoCandidate): Promise<void> {
  const ls = clients.lookalikeScorer;
  const size = 200;
  say(`\n9. Expanding the audience of ${candidate.id.replace(/-[a-z0-9]+$/, '')} (ExpandAudience, the ${size} users most like its seeds, seeds left out, pages of 50):`);
  const pages = await new Promise<ExpandAudienceResponse[]>((resolve, reject) => {
    const got: ExpandAudienceResponse[] = [];
    const call = ls.expandAudience(ExpandAudienceRequest.fromPartial({ candidateId: candidate.id, size, pageSize: 50 }));
    call.on('data', (page: ExpandAudienceResponse) => got.push(page));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
  const members = pages.flatMap((p) => p.members);
  const own = new Set(audiences[candidate.audience]!);
  const first = pages[0]!;
  say(`   ${members.length} users in ${pages.length} pages, of ${first.usersRanked} ranked (${first.excluded} seeds left out); ` +
    `${members.filter((m) => own.has(m.userId)).length} of them in the candidate's own segment; best: ` +
    members.slice(0, 3).map((m) => `${m.userId} ${m.score.toFixed(3)}`).join(', '));
  const why = await callUnary(ls.explain.bind(ls), ExplainRequest.fromPartial({ userId: members[0]!.userId, candidateId: candidate.id }));
  const strongest = [...why.clusters].sort((x, y) => y.localWeight - x.localWeight)[0]!;
  say(`   why ${members[0]!.userId}: α·cos_glb ${why.globalTerm.toFixed(3)} + β·cos_loc ${why.localTerm.toFixed(3)} = ${why.score.toFixed(3)} (Explain); ` +
    `its strongest cluster #${strongest.slot + 1} of ${why.clusters.length}, ${strongest.size} seeds, local attention ${(strongest.localWeight * 100).toFixed(0)}%`);
}

/** A few users per audience (none of them a seed), with their top candidates and the local attention behind the first. */
async function scoreUsers(clients: MeshClients, dataset: Dataset, audiences: string[][], candidates: DemoCandidate[]): Promise<void> {
  const ls = clients.lookalikeScorer;
  say('\n6. Scoring users who never clicked them (Score over all servable candidates, top 3), and why:');
  for (const [a, audience] of audiences.entries()) {
    for (const userId of audience.slice(SEEDS + 5, SEEDS + 7)) {
      const reply: ScoreResponse = await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId, topK: 3 }));
      const own = candidates.find((c) => c.audience === a)!.id;
      const list = reply.scores.map((s) => `${s.candidateId.replace(/-[a-z0-9]+$/, '')} ${s.score.toFixed(3)}${s.candidateId === own ? ' ←own segment' : ''}`).join(', ');
      say(`   ${userId} (segment ${a + 1}): ${list}`);
      const top = reply.scores[0];
      if (!top) continue;
      const why = await callUnary(ls.explain.bind(ls), ExplainRequest.fromPartial({ userId, candidateId: top.candidateId }));
      const strongest = [...why.clusters].sort((x, y) => y.localWeight - x.localWeight).slice(0, 3);
      say(`      why: α·cos_glb ${why.globalTerm.toFixed(3)} + β·cos_loc ${why.localTerm.toFixed(3)} = ${why.score.toFixed(3)} (Explain); ` +
        `local attention on clusters ${strongest.map((c) => `#${c.slot + 1} (${c.size} seeds, global weight ${(c.globalWeight * 100).toFixed(0)}%) ${(c.localWeight * 100).toFixed(0)}%`).join(', ')}; ` +
        `model ${why.modelVersion}, clusters v${why.clusterVersion}`);
    }
  }
  const profile = featuresOf(dataset, dataset.users.ids.indexOf(audiences[0]![SEEDS + 5]!));
  const stranger = await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: 'first-visit-user', features: profile, topK: 1 }));
  say(`   first-visit-user, unknown to the store, scored from the profile it sent (that of a segment-1 user): ` +
    `${stranger.scores[0]?.candidateId.replace(/-[a-z0-9]+$/, '')} ${stranger.scores[0]?.score.toFixed(3)} (embedding source ${embeddingSourceToJSON(stranger.embeddingSource).replace('EMBEDDING_SOURCE_', '')})`);
  say(`   A user with neither: ${await statusOf(callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: 'stranger' })))}`);
}
