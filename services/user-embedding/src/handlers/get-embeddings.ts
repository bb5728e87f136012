import type { GetEmbeddingsRequest, GetEmbeddingsResponse } from '@ralm/proto/user_embedding';
import { requireCount, requireId, UnimplementedError } from '@ralm/platform';
import type { UserEmbeddingDeps } from '../ports';
import { modelFor, requireKind } from './validate';

export const MAX_USERS_PER_CALL = 10_000;

export async function getEmbeddings(request: GetEmbeddingsRequest, deps: UserEmbeddingDeps): Promise<GetEmbeddingsResponse> {
  requireCount(request.userIds.length, 'user_ids', 1, MAX_USERS_PER_CALL);
  request.userIds.forEach((id, i) => requireId(id, `user_ids[${i}]`));
  requireKind(request.kind);
  const model = modelFor(deps.model, request.modelVersion);
  throw new UnimplementedError(`the embedding store for model '${model.version}' is not available in this build`);
}
