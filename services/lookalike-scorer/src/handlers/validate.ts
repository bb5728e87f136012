import type { ScoreRequest } from '@ralm/proto/lookalike_scorer';
import { InvalidArgumentError, requireCount, requireId, requireIntInRange, requireUserFeatures } from '@ralm/platform';

export const MAX_CANDIDATES_PER_REQUEST = 50_000;
export const MAX_TOP_K = 10_000;
export const MAX_ITEM_PRIOR_WEIGHT = 10;

/** Edge checks of one ScoreRequest; `prefix` locates it inside a batch (`requests[3].`). */
export function validateScoreRequest(request: ScoreRequest, prefix = ''): void {
  requireId(request.userId, `${prefix}user_id`);
  requireCount(request.candidateIds.length, `${prefix}candidate_ids`, 0, MAX_CANDIDATES_PER_REQUEST);
  request.candidateIds.forEach((id, i) => requireId(id, `${prefix}candidate_ids[${i}]`));
  requireIntInRange(request.topK, `${prefix}top_k`, 0, MAX_TOP_K);
  requireUserFeatures(request.features, `${prefix}features`);
  const w = request.itemPriorWeight;
  if (w !== undefined && !(Number.isFinite(w) && w >= 0 && w <= MAX_ITEM_PRIOR_WEIGHT)) {
    throw new InvalidArgumentError(`${prefix}item_prior_weight`, `must be finite and in [0, ${MAX_ITEM_PRIOR_WEIGHT}], got ${w}`);
  }
}
