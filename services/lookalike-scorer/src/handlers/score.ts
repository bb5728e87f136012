import type { ScoreRequest, ScoreResponse } from '@ralm/proto/lookalike_scorer';
import { FailedPreconditionError, UnimplementedError } from '@ralm/platform';
import type { LookalikeScorerDeps } from '../ports';
import { validateScoreRequest } from './validate';

export function requireModel(deps: LookalikeScorerDeps) {
  const model = deps.currentModel();
  if (!model) {
    throw new FailedPreconditionError('no look-alike model is loaded yet: train and publish one (`npx ralm train`) before scoring');
  }
  return model;
}

export async function score(request: ScoreRequest, deps: LookalikeScorerDeps): Promise<ScoreResponse> {
  validateScoreRequest(request);
  const model = requireModel(deps);
  throw new UnimplementedError(`scoring with model '${model.version}' is not available in this build`);
}
