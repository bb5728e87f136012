import type { EmbedFeaturesRequest, EmbedFeaturesResponse } from '@ralm/proto/user_embedding';
import { requireCount, requireUserFeatures, UnimplementedError } from '@ralm/platform';
import type { UserEmbeddingDeps } from '../ports';
import { modelFor, requireKind } from './validate';

export const MAX_FEATURE_USERS_PER_CALL = 1_000;

export async function embedFeatures(request: EmbedFeaturesRequest, deps: UserEmbeddingDeps): Promise<EmbedFeaturesResponse> {
  requireCount(request.users.length, 'users', 1, MAX_FEATURE_USERS_PER_CALL);
  request.users.forEach((user, i) => requireUserFeatures(user, `users[${i}]`));
  requireKind(request.kind);
  const model = modelFor(deps.model, request.modelVersion);
  throw new UnimplementedError(`the user tower of model '${model.version}' is not available in this build`);
}
