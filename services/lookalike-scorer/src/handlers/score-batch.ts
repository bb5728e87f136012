import type { ScoreBatchRequest, ScoreBatchResponse } from '@ralm/proto/lookalike_scorer';
import { requireCount, UnimplementedError } from '@ralm/platform';
import type { LookalikeScorerDeps } from '../ports';
import { requireModel } from './score';
import { validateScoreRequest } from './validate';

export const MAX_BATCH = 256;

export async function scoreBatch(request: ScoreBatchRequest, deps: LookalikeScorerDeps): Promise<ScoreBatchResponse> {
  requireCount(request.requests.length, 'requests', 1, MAX_BATCH);
  request.requests.forEach((r, i) => validateScoreRequest(r, `requests[${i}].`));
  const model = requireModel(deps);
  throw new UnimplementedError(`batch scoring with model '${model.version}' is not available in this build`);
}
