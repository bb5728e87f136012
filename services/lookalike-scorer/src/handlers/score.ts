import { EmbeddingSource, NotServableReason, notServableReasonToJSON, type CandidateScore, type ScoreRequest, type ScoreResponse } from '@ralm/proto/lookalike_scorer';
import { rankingScore } from '@ralm/kernel';
import { embedRawFeatures } from '@ralm/model';
import { FailedPreconditionError, NotFoundError, requireRawFeatures, UnavailableError, type CallContext } from '@ralm/platform';
import type { BatchCall } from '../domain/batcher';
import { topK } from '../domain/top-k';
import type { LookalikeScorerDeps } from '../ports';
import type { ScoringState } from '../scoring-state';
import { validateScoreRequest } from './validate';

export function requireState(deps: LookalikeScorerDeps): ScoringState {
  const state = deps.state();
  if (!state) throw new FailedPreconditionError('no look-alike model is loaded yet: train and publish one (`npx ralm train`) before scoring');
  // Answering from a partial table would silently drop candidates: say so and let the caller retry (or another replica answer).
  if (!state.complete) throw new UnavailableError(`the scoring table of model '${state.version}' is being restored (${state.table.count} candidates so far); retry shortly`);
  return state;
}

/** The table slot of a servable candidate: NOT_FOUND when no candidate has the id, FAILED_PRECONDITION naming the reason when it is not servable. */
export function requireSlot(state: ScoringState, deps: LookalikeScorerDeps, candidateId: string): number {
  const slot = state.table.slot(candidateId);
  if (slot !== undefined) return slot;
  const reason = deps.book.reason(candidateId, state.version, false);
  if (reason === NotServableReason.NOT_SERVABLE_REASON_UNKNOWN_CANDIDATE) throw new NotFoundError('candidate', candidateId);
  throw new FailedPreconditionError(`candidate '${candidateId}' is not servable: ${notServableReasonToJSON(reason)}`);
}

/** The user's look-alike embedding: stored, else computed from the request's features, else none. */
export function resolveUser(state: ScoringState, request: ScoreRequest, prefix: string): { eu: Float32Array; source: EmbeddingSource } | undefined {
  const s = state.serving;
  const h = s.lookalikeDim;
  // Checked even when the store has the user: a malformed request is refused whatever it would have used.
  const raw = request.features ? requireRawFeatures(request.features, s.fields, `${prefix}features`, s.version) : undefined;
  const row = s.rows.get(request.userId);
  if (row !== undefined) return { eu: s.lookalike.subarray(row * h, row * h + h), source: EmbeddingSource.EMBEDDING_SOURCE_STORE };
  if (!raw) return undefined;
  return { eu: embedRawFeatures(s, [raw]).lookalike, source: EmbeddingSource.EMBEDDING_SOURCE_FEATURES };
}

/** resolveUser for a single call: NOT_FOUND when the user has neither a stored embedding nor features. */
export function requireUser(state: ScoringState, request: ScoreRequest): { eu: Float32Array; source: EmbeddingSource } {
  const user = resolveUser(state, request, '');
  if (!user) throw new NotFoundError('user', request.userId, 'it has no stored embedding in this model and the request sent no features');
  return user;
}

/** The user's experiment arm, counted once per reply. */
export function assignment(deps: LookalikeScorerDeps, userId: string): { arm: string; experimentId: string } {
  const arm = deps.assigner.assign(userId);
  deps.metrics.assignments.inc({ arm });
  return { arm, experimentId: deps.assigner.config.id };
}

/** Below this share of the table a named subset is scored candidate by candidate rather than against the whole table. */
const SUBSET_SHARE = 0.25;

/** What one user's candidates scored, in reply order, and how many were servable or not (unset: none named). */
export interface ScoredCandidates {
  scores: CandidateScore[];
  servable: number;
  notServable?: number;
}

/**
 * Scores one resolved user per the request (all servable candidates, or the named ones).
 * Counts nothing and assigns no arm: a Score reply does (scoreResolved), an Explain does not.
 */
export async function scoreCandidates(state: ScoringState, deps: LookalikeScorerDeps, request: ScoreRequest, eu: Float32Array, call?: BatchCall): Promise<ScoredCandidates> {
  const { table } = state;
  const scores: CandidateScore[] = [];
  const prior = request.itemPriorWeight ?? deps.config.ITEM_PRIOR_WEIGHT;
  /** Scores (of `slots[i]`, or slot i) to what candidates are ranked by. */
  const ranked = (values: Float32Array, slots?: number[]) =>
    prior === 0 ? values : Float32Array.from(values, (v, i) => rankingScore(v, table.seedCountAt(slots ? slots[i]! : i), prior));
  const scored = (slot: number, score: number, ranking: number): CandidateScore => ({
    candidateId: table.candidateAt(slot),
    score,
    rankingScore: ranking,
    servable: true,
    notServableReason: NotServableReason.NOT_SERVABLE_REASON_UNSPECIFIED,
    clusterVersion: table.clusterVersionAt(slot),
    seedCount: table.seedCountAt(slot),
  });
  const idOf = (slot: number) => table.candidateAt(slot);
  if (request.candidateIds.length === 0) {
    const row = table.count === 0 ? new Float32Array(0) : await state.batcher.score(eu, call);
    const order = ranked(row);
    for (const i of topK(order, undefined, idOf, request.topK)) scores.push(scored(i, row[i]!, order[i]!));
    return { scores, servable: row.length };
  }
  const servable: number[] = [];
  const notServable: CandidateScore[] = [];
  const seen = new Set<string>();
  for (const id of request.candidateIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    const slot = table.slot(id);
    if (slot !== undefined) {
      servable.push(slot);
      continue;
    }
    const info = deps.book.get(id);
    notServable.push({
      candidateId: id,
      score: 0,
      rankingScore: 0,
      servable: false,
      notServableReason: deps.book.reason(id, state.version, false),
      clusterVersion: info?.announced?.modelVersion === state.version ? info.announced.clusterVersion : 0,
      seedCount: info?.seedCount ?? 0,
    });
  }
  let values: Float32Array;
  if (servable.length >= SUBSET_SHARE * table.count && servable.length > 0) {
    const row = await state.batcher.score(eu, call);
    values = Float32Array.from(servable, (slot) => row[slot]!);
  } else {
    values = servable.length === 0 ? new Float32Array(0) : state.kernel.scoreSubset(table.kernelTable(), eu, Int32Array.from(servable), state.serving.alpha, state.serving.beta);
  }
  const order = ranked(values, servable);
  for (const i of topK(order, servable, idOf, request.topK)) scores.push(scored(servable[i]!, values[i]!, order[i]!));
  return { scores: [...scores, ...notServable], servable: servable.length, notServable: notServable.length };
}

/** A Score reply for one resolved user: its candidates scored, counted, and the user's arm. */
export async function scoreResolved(
  state: ScoringState,
  deps: LookalikeScorerDeps,
  request: ScoreRequest,
  eu: Float32Array,
  source: EmbeddingSource,
  call?: BatchCall,
): Promise<ScoreResponse> {
  const { scores, servable, notServable } = await scoreCandidates(state, deps, request, eu, call);
  deps.metrics.candidates.inc({ servable: 'true' }, servable);
  if (notServable !== undefined) deps.metrics.candidates.inc({ servable: 'false' }, notServable);
  return { userId: request.userId, modelVersion: state.version, scores, embeddingSource: source, ...assignment(deps, request.userId) };
}

export async function score(request: ScoreRequest, deps: LookalikeScorerDeps, ctx?: CallContext): Promise<ScoreResponse> {
  validateScoreRequest(request);
  const state = requireState(deps);
  const user = requireUser(state, request);
  const response = await scoreResolved(state, deps, request, user.eu, user.source, ctx);
  ctx?.throwIfDone();
  return response;
}
