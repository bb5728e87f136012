/**
 * The whole real-time story through gRPC: a model trained here, clicks streamed
 * for brand-new candidates whose seeds are planted in two interest groups, the
 * clusters computed, and Score ranking the planted look-alike candidate first for
 * users of the same group — stored users and a never-seen user sent as features.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { callUnary } from '@ralm/platform';
import { kmeans, Rng } from '@ralm/model';
import type { Dataset } from '@ralm/data';
import { EmbeddingSource, ExpandAudienceRequest, ExplainRequest, NotServableReason, ScoreRequest, SetExclusionsRequest, type ExpandAudienceResponse, type GetExclusionsResponse, type ScoreResponse } from '@ralm/proto/lookalike_scorer';
import { ArmAssigner, experimentFromConfig } from '@ralm/experiment';
import { loadLookalikeScorerConfig } from '@ralm/lookalike-scorer';
import { collect, expectStatus } from './support/grpc';
import { startLoopbackMesh, type LoopbackMesh } from './support/mesh';
import { featuresOf, LOOKALIKE_MODEL, trainTinyModel } from './support/tiny-model';

jest.setTimeout(240_000);

const SEEDS = 100;

/** Every page of one ExpandAudience of planted-a (unless the request names another candidate). */
function expandAudience(mesh: LoopbackMesh, request: Partial<ExpandAudienceRequest>): Promise<ExpandAudienceResponse[]> {
  return collect<ExpandAudienceResponse>(mesh.clients.lookalikeScorer.expandAudience(ExpandAudienceRequest.fromPartial({ candidateId: 'planted-a', ...request })));
}
const members = (pages: ExpandAudienceResponse[]) => pages.flatMap((p) => p.members);

function getExclusions(mesh: LoopbackMesh, candidateId: string): Promise<GetExclusionsResponse[]> {
  return collect<GetExclusionsResponse>(mesh.clients.lookalikeScorer.getExclusions({ candidateId }));
}

describe('look-alike scoring end to end (embedded bus)', () => {
  let root: string;
  let loop: LoopbackMesh;
  let dataset: Dataset;
  let version: string;
  /** Users (rows) of the two planted audiences. */
  let groupA: number[];
  let groupB: number[];
  /** Which audience (0 = A, 1 = B) a look-alike embedding is nearest to. */
  let centroidOf: (values: number[]) => number;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-e2e-'));
    ({ dataset, version } = await trainTinyModel(path.join(root, 'models'), 2000, LOOKALIKE_MODEL));
    loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state') });
    // Plant two audiences that look alike in the model's own space: 2-means over the users'
    // look-alike embeddings (users the ReLU maps to zero belong to neither).
    const ue = loop.clients.userEmbedding;
    const all = await callUnary(ue.getEmbeddings.bind(ue), { userIds: dataset.users.ids, kind: 0, modelVersion: '' });
    const h = all.dimension;
    const live = all.embeddings.filter((e) => e.values.some((v) => v !== 0));
    // On unit vectors: the score compares directions (cosines), so the audiences are cones.
    const unit = (values: number[]) => {
      const norm = Math.hypot(...values);
      return values.map((v) => v / norm);
    };
    const points = new Float32Array(live.length * h);
    live.forEach((e, i) => points.set(unit(e.values), i * h));
    const { assignments, centroids } = kmeans(points, h, 2, new Rng(7));
    const rowOf = new Map(dataset.users.ids.map((id, row) => [id, row]));
    [groupA, groupB] = [0, 1].map((c) => live.filter((_, i) => assignments[i] === c).map((e) => rowOf.get(e.userId)!));
    centroidOf = (values: number[]) => {
      const u = unit(values);
      const d = (c: number) => u.reduce((s, v, t) => s + (v - centroids[c * h + t]!) ** 2, 0);
      return d(0) <= d(1) ? 0 : 1;
    };
    loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state') });
  });
  afterAll(async () => {
    await loop?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  const userId = (row: number) => dataset.users.ids[row]!;

  it('ranks the candidate whose seeds look like the user first, for stored and brand-new users', async () => {
    const { seedCollector: sc, lookalikeScorer: ls } = loop.clients;
    expect(groupA.length).toBeGreaterThan(SEEDS + 40);
    expect(groupB.length).toBeGreaterThan(SEEDS + 40);
    const seedsOf: Record<string, number[]> = { 'planted-a': groupA.slice(0, SEEDS), 'planted-b': groupB.slice(0, SEEDS), 'too-few': groupA.slice(0, 50) };
    for (const [candidateId, rows] of Object.entries(seedsOf)) {
      await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'news', tags: [] });
      const clicks = rows.map((row, i) => ({ eventId: `${candidateId}-${i}`, userId: userId(row), candidateId, timestampMs: Date.now() }));
      await expect(callUnary(sc.reportClicks.bind(sc), { clicks })).resolves.toMatchObject({ accepted: rows.length });
    }
    const ask = (request: { userId: string; candidateIds?: string[]; topK?: number; itemPriorWeight?: number; features?: ReturnType<typeof featuresOf> }) =>
      callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ candidateIds: [], topK: 0, ...request }));
    const named = ['planted-a', 'planted-b', 'too-few', 'never-registered'];
    let reply: ScoreResponse | undefined;
    for (const started = Date.now(); Date.now() - started < 20_000; await new Promise((r) => setTimeout(r, 20))) {
      reply = await ask({ userId: userId(groupA[SEEDS]!), candidateIds: named });
      if (reply.scores.filter((s) => s.servable).length === 2) break;
    }
    expect(reply).toMatchObject({ modelVersion: version, embeddingSource: EmbeddingSource.EMBEDDING_SOURCE_STORE });
    // Servable ones first (by score), then the others in request order.
    const servableFirst = reply!.scores.map((s) => [s.candidateId, s.servable, s.notServableReason]);
    expect([...servableFirst.slice(0, 2)].sort()).toEqual([
      ['planted-a', true, NotServableReason.NOT_SERVABLE_REASON_UNSPECIFIED],
      ['planted-b', true, NotServableReason.NOT_SERVABLE_REASON_UNSPECIFIED],
    ]);
    expect(servableFirst.slice(2)).toEqual([
      ['too-few', false, NotServableReason.NOT_SERVABLE_REASON_TOO_FEW_SEEDS],
      ['never-registered', false, NotServableReason.NOT_SERVABLE_REASON_UNKNOWN_CANDIDATE],
    ]);
    expect(reply!.scores[0]).toMatchObject({ clusterVersion: 1, seedCount: SEEDS });

    // Held-out users of each group (not seeds): their own group's candidate should come first. A user whose
    // look-alike embedding is all zeros (a dead ReLU; the proto scores it 0 everywhere) says nothing either way.
    const held = 30;
    const outcome = { right: 0, wrong: 0, zero: 0 };
    const heldArms = new Set<string>();
    for (const [group, own] of [[groupA, 'planted-a'], [groupB, 'planted-b']] as const) {
      for (let i = 0; i < held; i++) {
        const r = await ask({ userId: userId(group[SEEDS + 1 + i]!) });
        heldArms.add(r.arm);
        expect(r.scores.map((s) => s.candidateId).sort()).toEqual(['planted-a', 'planted-b']); // every servable candidate, nothing else
        if (r.scores.every((s) => s.score === 0)) outcome.zero++;
        else if (r.scores[0]!.candidateId === own) outcome.right++;
        else outcome.wrong++;
      }
    }
    expect(outcome.zero).toBe(0); // the audiences hold embedded users only
    expect(outcome.right).toBeGreaterThanOrEqual(0.9 * 2 * held);

    // A user the model never saw, scored from its features on the first request.
    const features = featuresOf(dataset, groupA[SEEDS + 20]!);
    const ue = loop.clients.userEmbedding;
    const embedded = await callUnary(ue.embedFeatures.bind(ue), { users: [features], kind: 0, modelVersion: '' });
    const expected = ['planted-a', 'planted-b'][centroidOf(embedded.embeddings[0]!.values)];
    const newcomer = await ask({ userId: 'newcomer-1', features, topK: 1 });
    expect(newcomer).toMatchObject({ embeddingSource: EmbeddingSource.EMBEDDING_SOURCE_FEATURES, scores: [{ candidateId: expected, servable: true }] });
    await expectStatus(ask({ userId: 'stranger-without-features' }), status.NOT_FOUND);
    await expectStatus(ask({ userId: 'x', topK: -1 }), status.INVALID_ARGUMENT);

    // Ranking across candidates: the raw score stays, ranking_score adds γ·ln(1 + seeds), the order follows it.
    const raw = await ask({ userId: userId(groupA[SEEDS + 5]!) });
    expect(raw.scores.every((s) => s.rankingScore === s.score)).toBe(true);
    const withPrior = await ask({ userId: userId(groupA[SEEDS + 5]!), itemPriorWeight: 0.5 });
    for (const s of withPrior.scores) {
      expect(s.score).toBe(raw.scores.find((r) => r.candidateId === s.candidateId)!.score);
      expect(s.rankingScore).toBeCloseTo(s.score + 0.5 * Math.log1p(s.seedCount), 5);
    }
    const order = withPrior.scores.map((s) => s.rankingScore);
    expect([...order].sort((a, b) => b - a)).toEqual(order);
    for (const bad of [-0.1, 11, Number.NaN]) {
      const err = await expectStatus(ask({ userId: 'x', itemPriorWeight: bad }), status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/item_prior_weight/);
    }

    // ScoreBatch: one model version, a missing user reported rather than failing the call.
    const single = await ask({ userId: userId(groupB[SEEDS + 3]!), topK: 2 });
    const batch = await callUnary(ls.scoreBatch.bind(ls), {
      requests: [ScoreRequest.fromPartial({ userId: userId(groupB[SEEDS + 3]!), topK: 2 }), ScoreRequest.fromPartial({ userId: 'nobody', topK: 1 })],
    });
    expect(batch.results[0]).toEqual(single);
    expect(batch.results[1]).toMatchObject({ modelVersion: version, embeddingSource: EmbeddingSource.EMBEDDING_SOURCE_MISSING, scores: [] });

    // Every reply names the user's experiment arm, as the documented hash assigns it.
    const arms = new ArmAssigner(experimentFromConfig(loadLookalikeScorerConfig({})));
    for (const r of [reply!, newcomer, ...batch.results]) expect(r).toMatchObject({ arm: arms.assign(r.userId), experimentId: 'ralm-lookalike' });
    expect(heldArms).toEqual(new Set(['control', 'treatment']));
  });

  it('embeds a never-seen user from features exactly as the stored embedding of a user with those features', async () => {
    const ue = loop.clients.userEmbedding;
    const row = groupA[5]!;
    const stored = await callUnary(ue.getEmbeddings.bind(ue), { userIds: [userId(row)], kind: 0, modelVersion: '' });
    const computed = await callUnary(ue.embedFeatures.bind(ue), { users: [featuresOf(dataset, row)], kind: 0, modelVersion: '' });
    expect(computed.modelVersion).toBe(version);
    computed.embeddings[0]!.values.forEach((v, t) => expect(v).toBeCloseTo(stored.embeddings[0]!.values[t]!, 4));
    await expectStatus(callUnary(ue.embedFeatures.bind(ue), { users: [{ fields: { shoe_size: { number: 42 } } }], kind: 0, modelVersion: '' }), status.INVALID_ARGUMENT);
  });

  it('explains a served score over gRPC: the terms recompose it, the attention covers the clusters with their sizes, bad input is refused', async () => {
    const { lookalikeScorer: ls, clusterer: cl } = loop.clients;
    const explainCall = (request: Partial<ExplainRequest>) => callUnary(ls.explain.bind(ls), ExplainRequest.fromPartial(request));
    const clusters = await callUnary(cl.getClusters.bind(cl), { candidateId: 'planted-a' });
    for (const row of [groupA[SEEDS + 2]!, groupB[SEEDS + 2]!]) {
      const user = userId(row);
      const served = (await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: user, candidateIds: ['planted-a'] }))).scores[0]!;
      const why = await explainCall({ userId: user, candidateId: 'planted-a' });
      expect(why).toMatchObject({ userId: user, candidateId: 'planted-a', modelVersion: version, clusterVersion: served.clusterVersion, seedCount: SEEDS, averagePooling: false });
      expect(why.embeddingSource).toBe(EmbeddingSource.EMBEDDING_SOURCE_STORE);
      expect(why.score).toBe(served.score);
      // float32 served score against the double terms: equal up to the float32 rounding of the score.
      expect(Math.abs(why.globalTerm + why.localTerm - why.score)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(why.score)));
      expect(why.globalTerm).toBeCloseTo(why.alpha * why.cosGlobal, 6);
      expect(why.localTerm).toBeCloseTo(why.beta * why.cosLocal, 6);
      expect(why.clusters.map((c) => c.size)).toEqual(clusters.clusters.map((c) => c.size).sort((a, b) => b - a));
      expect(why.clusters.map((c) => c.slot)).toEqual(why.clusters.map((_, j) => j));
      expect(why.clusters.reduce((s, c) => s + c.localWeight, 0)).toBeCloseTo(1, 5);
      expect(why.clusters.reduce((s, c) => s + c.globalWeight, 0)).toBeCloseTo(1, 5);
      expect(why.clusters.every((c) => c.localWeight > 0 && c.globalWeight > 0)).toBe(true);
    }
    // A user the store never saw, explained from its features: the same figures Score gives it.
    const features = featuresOf(dataset, groupA[SEEDS + 20]!);
    const fresh = await explainCall({ userId: 'newcomer-2', features, candidateId: 'planted-b' });
    const freshScore = (await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: 'newcomer-2', features, candidateIds: ['planted-b'] }))).scores[0]!;
    expect(fresh).toMatchObject({ embeddingSource: EmbeddingSource.EMBEDDING_SOURCE_FEATURES, score: freshScore.score });

    await expectStatus(explainCall({ userId: '', candidateId: 'planted-a' }), status.INVALID_ARGUMENT);
    await expectStatus(explainCall({ userId: userId(groupA[0]!), candidateId: '' }), status.INVALID_ARGUMENT);
    await expectStatus(explainCall({ userId: 'stranger-without-features', candidateId: 'planted-a' }), status.NOT_FOUND);
    await expectStatus(explainCall({ userId: userId(groupA[0]!), candidateId: 'never-registered' }), status.NOT_FOUND);
    const tooFew = await expectStatus(explainCall({ userId: userId(groupA[0]!), candidateId: 'too-few' }), status.FAILED_PRECONDITION);
    expect(tooFew.details).toMatch(/TOO_FEW_SEEDS/);
  });

  it('expands an audience over gRPC: the best non-seed users, as Score ranks them, in pages, with exclusions and minimums', async () => {
    const expand = (request: Partial<ExpandAudienceRequest>) => expandAudience(loop, request);
    const { lookalikeScorer: ls } = loop.clients;
    const seeds = new Set(groupA.slice(0, SEEDS).map(userId));
    const everyone = dataset.users.ids;

    // The oracle: every stored user scored for planted-a through ScoreBatch, seeds left out, sorted.
    const oracle = new Map<string, number>();
    for (let i = 0; i < everyone.length; i += 256) {
      const batch = await callUnary(ls.scoreBatch.bind(ls), { requests: everyone.slice(i, i + 256).map((u) => ScoreRequest.fromPartial({ userId: u, candidateIds: ['planted-a'] })) });
      for (const r of batch.results) if (r.scores[0]) oracle.set(r.userId, r.scores[0].score);
    }
    const ranked = [...oracle.keys()].filter((u) => !seeds.has(u)).sort((a, b) => oracle.get(b)! - oracle.get(a)! || (a < b ? -1 : 1));

    const pages = await expand({ size: 300, pageSize: 128 });
    expect(pages.map((p) => [p.page, p.members.length, p.last])).toEqual([[0, 128, false], [1, 128, false], [2, 44, true]]);
    for (const p of pages) expect(p).toMatchObject({ candidateId: 'planted-a', modelVersion: version, seedCount: SEEDS, audienceSize: 300, usersRanked: oracle.size, excluded: SEEDS });
    const audience = members(pages);
    expect(audience.some((m) => seeds.has(m.userId))).toBe(false);
    // Best first, ties by user id; each score is Score's for the pair (a batch of users: float32 rounding apart).
    audience.forEach((m, i) => {
      expect(Math.abs(m.score - oracle.get(m.userId)!)).toBeLessThanOrEqual(1e-5);
      if (i > 0) expect(m.score < audience[i - 1]!.score || (m.score === audience[i - 1]!.score && m.userId > audience[i - 1]!.userId)).toBe(true);
    });
    // The same 300 as the oracle's, but for users whose scores sit within rounding of the cut.
    const cut = audience[299]!.score;
    const chosen = new Set(audience.map((m) => m.userId));
    for (const u of ranked.slice(0, 300)) if (!chosen.has(u)) expect(oracle.get(u)!).toBeLessThanOrEqual(cut + 1e-5);
    // The planted look-alikes come first: the top of the audience is group A.
    const inA = new Set(groupA.map(userId));
    expect(audience.slice(0, 100).filter((m) => inA.has(m.userId)).length).toBeGreaterThanOrEqual(90);

    // Seeds on request; a share of the store; exclusions; a minimum score.
    expect(members(await expand({ size: 300, includeSeeds: true })).filter((m) => seeds.has(m.userId)).length).toBeGreaterThan(0);
    const tenth = await expand({ fraction: 0.1 });
    expect(tenth[0]!.audienceSize).toBe(Math.floor(0.1 * oracle.size));
    expect(tenth).toHaveLength(1); // the default page holds 1,000
    const without = await expand({ size: 300, excludeUserIds: [audience[0]!.userId, audience[5]!.userId, 'nobody-at-all'] });
    expect(members(without).map((m) => m.userId)).toEqual(audience.map((m) => m.userId).filter((u, i) => i !== 0 && i !== 5).concat(members(without).slice(298).map((m) => m.userId)));
    expect(without[0]!.excluded).toBe(SEEDS + 2);
    const floor = audience[149]!.score;
    const above = members(await expand({ size: 300, minScore: floor }));
    expect(above.length).toBeGreaterThanOrEqual(150);
    expect(above.every((m) => m.score >= floor)).toBe(true);

    // Minimums and bad input.
    await expectStatus(expand({ size: 99 }), status.INVALID_ARGUMENT);
    await expectStatus(expand({ fraction: 0.01 }), status.INVALID_ARGUMENT); // 1 % of the store is under 100 users
    const few = await expectStatus(expand({ size: 300, minScore: audience[10]!.score }), status.FAILED_PRECONDITION);
    expect(few.details).toMatch(/minimum audience of 100/);
    await expectStatus(expand({}), status.INVALID_ARGUMENT);
    await expectStatus(expand({ fraction: 1.5 }), status.INVALID_ARGUMENT);
    await expectStatus(expand({ size: 300, pageSize: 10_001 }), status.INVALID_ARGUMENT);
    await expectStatus(expand({ size: 300, excludeUserIds: [''] }), status.INVALID_ARGUMENT);
    await expectStatus(expand({ size: 300, minScore: Number.NaN }), status.INVALID_ARGUMENT);
    await expectStatus(expand({ candidateId: 'never-registered', size: 300 }), status.NOT_FOUND);
    const tooFew = await expectStatus(expand({ candidateId: 'too-few', size: 300 }), status.FAILED_PRECONDITION);
    expect(tooFew.details).toMatch(/TOO_FEW_SEEDS/);
  });

  it('serves from an int8 candidate table (SCORE_TABLE_PRECISION=int8) the scores of the float32 one within 0.01, in the same order', async () => {
    const users = [...groupA.slice(SEEDS + 1, SEEDS + 11), ...groupB.slice(SEEDS + 1, SEEDS + 11)].map(userId);
    const ask = (m: LoopbackMesh, id: string) => callUnary(m.clients.lookalikeScorer.score.bind(m.clients.lookalikeScorer), ScoreRequest.fromPartial({ userId: id }));
    const exact = await Promise.all(users.map((id) => ask(loop, id)));
    await loop.stop();
    loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state'), SCORE_TABLE_PRECISION: 'int8' });
    let coded: ScoreResponse[] = [];
    // The restarted scorer reloads the clusters the clusterer kept; until then it answers UNAVAILABLE.
    for (const started = Date.now(); Date.now() - started < 20_000; await new Promise((r) => setTimeout(r, 50))) {
      coded = await Promise.all(users.map((id) => ask(loop, id))).catch(() => []);
      if (coded.length && coded.every((r) => r.scores.length === 2)) break;
    }
    expect(coded).toHaveLength(users.length);
    let largest = 0;
    coded.forEach((reply, u) => {
      expect(reply.scores.map((s) => s.candidateId)).toEqual(exact[u]!.scores.map((s) => s.candidateId));
      for (const s of reply.scores) largest = Math.max(largest, Math.abs(s.score - exact[u]!.scores.find((e) => e.candidateId === s.candidateId)!.score));
    });
    expect(largest).toBeLessThanOrEqual(0.01);
    expect(largest).toBeGreaterThan(0); // a different table answered
  });

  it('holds per-candidate exclusion lists over gRPC, durably: every later expansion leaves them out, a restart keeps them', async () => {
    const setExclusions = (request: Partial<SetExclusionsRequest>) =>
      callUnary(loop.clients.lookalikeScorer.setExclusions.bind(loop.clients.lookalikeScorer), SetExclusionsRequest.fromPartial({ candidateId: 'planted-a', ...request }));
    const before = members(await expandAudience(loop, { size: 200 })).map((m) => m.userId);
    const top = before.slice(0, 3);
    expect(await setExclusions({ addUserIds: [...top, 'not-a-stored-user'] })).toEqual({ candidateId: 'planted-a', count: 4 });
    const after = await expandAudience(loop, { size: 200 });
    expect(after[0]!.excluded).toBe(SEEDS + 3);
    expect(members(after).map((m) => m.userId)).toEqual([...before.slice(3), ...members(after).slice(197).map((m) => m.userId)]);
    // Off the list again: back at the top.
    expect(await setExclusions({ removeUserIds: [top[0]!] })).toMatchObject({ count: 3 });
    expect(members(await expandAudience(loop, { size: 200 }))[0]!.userId).toBe(top[0]);
    expect(await getExclusions(loop, 'planted-a')).toEqual([{ userIds: [...top.slice(1), 'not-a-stored-user'].sort(), total: 3 }]);
    expect(await getExclusions(loop, 'no-list-here')).toEqual([{ userIds: [], total: 0 }]);

    // Held by the scorer's state store: a restart of the mesh keeps the list.
    await loop.stop();
    loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state') });
    expect((await getExclusions(loop, 'planted-a'))[0]!.total).toBe(3);
    expect(await setExclusions({ clear: true })).toMatchObject({ count: 0 });

    await expectStatus(setExclusions({ candidateId: '' }), status.INVALID_ARGUMENT);
    await expectStatus(setExclusions({ addUserIds: [''] }), status.INVALID_ARGUMENT);
    await expectStatus(setExclusions({ addUserIds: Array.from({ length: 100_001 }, (_, i) => `u${i}`) }), status.INVALID_ARGUMENT);
    await expectStatus(getExclusions(loop, ''), status.INVALID_ARGUMENT);
  });
});
