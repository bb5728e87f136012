import { EmbeddingSource, type ScoreBatchRequest, type ScoreBatchResponse } from '@ralm/proto/lookalike_scorer';
import { requireCount, type CallContext } from '@ralm/platform';
import type { LookalikeScorerDeps } from '../ports';
import { assignment, requireState, resolveUser, scoreResolved } from './score';
import { validateScoreRequest } from './validate';

export const MAX_BATCH = 256;

/**
 * Scores several users with one model version. Every request is queued before
 * any is awaited, so those that score the whole table share the batcher's
 * matrix–matrix products.
 */
export async function scoreBatch(request: ScoreBatchRequest, deps: LookalikeScorerDeps, ctx?: CallContext): Promise<ScoreBatchResponse> {
  requireCount(request.requests.length, 'requests', 1, MAX_BATCH);
  request.requests.forEach((r, i) => validateScoreRequest(r, `requests[${i}].`));
  const state = requireState(deps);
  const users = request.requests.map((r, i) => resolveUser(state, r, `requests[${i}].`));
  const results = await Promise.all(
    request.requests.map((r, i) => {
      const user = users[i];
      if (!user) return { userId: r.userId, modelVersion: state.version, scores: [], embeddingSource: EmbeddingSource.EMBEDDING_SOURCE_MISSING, ...assignment(deps, r.userId) };
      return scoreResolved(state, deps, r, user.eu, user.source, ctx);
    }),
  );
  ctx?.throwIfDone();
  return { results };
}
