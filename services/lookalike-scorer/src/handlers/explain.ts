import { ScoreRequest, type ExplainRequest, type ExplainResponse } from '@ralm/proto/lookalike_scorer';
import { explainCandidate } from '@ralm/kernel';
import { requireId, requireUserFeatures, type CallContext } from '@ralm/platform';
import type { LookalikeScorerDeps } from '../ports';
import { requireSlot, requireState, requireUser, scoreCandidates } from './score';

/**
 * Why a candidate scored what it did for a user. The score comes from scoreCandidates with
 * the same one-candidate request Score would run, so it is the served value; the terms and
 * attention weights are the spec's formulas step by step in double (explainCandidate, the
 * kernels' oracle) over the same stored rows.
 */
export async function explain(request: ExplainRequest, deps: LookalikeScorerDeps, ctx?: CallContext): Promise<ExplainResponse> {
  requireId(request.userId, 'user_id');
  requireId(request.candidateId, 'candidate_id');
  requireUserFeatures(request.features, 'features');
  const state = requireState(deps);
  const asScore = ScoreRequest.fromPartial({ userId: request.userId, features: request.features, candidateIds: [request.candidateId] });
  const user = requireUser(state, asScore);
  const slot = requireSlot(state, deps, request.candidateId);
  // Score's own path for the served value, without counting an Explain as a Score reply.
  const served = (await scoreCandidates(state, deps, asScore, user.eu, ctx)).scores[0]!;
  const { table, serving } = state;
  const kernelTable = table.kernelTable();
  const why = explainCandidate(kernelTable, slot, user.eu, serving.alpha, serving.beta);
  const { sizes, globalWeights } = table.clustersAt(slot);
  const mask = kernelTable.mask;
  const clusters = [];
  for (let j = 0; j < table.k; j++) {
    if (!mask[slot * table.k + j]) continue;
    clusters.push({ slot: j, size: sizes[j]!, localWeight: why.weights[j]!, globalWeight: globalWeights[j]! });
  }
  ctx?.throwIfDone();
  return {
    userId: request.userId,
    candidateId: request.candidateId,
    modelVersion: state.version,
    clusterVersion: served.clusterVersion,
    seedCount: served.seedCount,
    embeddingSource: user.source,
    score: served.score,
    alpha: serving.alpha,
    beta: serving.beta,
    cosGlobal: why.cosGlobal,
    cosLocal: why.cosLocal,
    globalTerm: why.globalTerm,
    localTerm: why.localTerm,
    clusters,
    averagePooling: table.average,
  };
}
