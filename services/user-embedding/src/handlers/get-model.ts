import type { GetModelResponse } from '@ralm/proto/user_embedding';
import type { UserEmbeddingDeps } from '../ports';
import { modelFor } from './validate';

export async function getModel(deps: UserEmbeddingDeps): Promise<GetModelResponse> {
  const model = modelFor(deps.model, '');
  return { modelVersion: model.version, userDim: model.userDim, lookalikeDim: model.lookalikeDim, users: model.rows.size };
}
