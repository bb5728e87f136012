import type { EmbedFeaturesRequest, EmbedFeaturesResponse } from '@ralm/proto/user_embedding';
import { InvalidArgumentError, requireCount, UnimplementedError } from '@ralm/platform';
import type { UserEmbeddingDeps } from '../ports';
import { modelFor, requireKind } from './validate';

export const MAX_FEATURE_USERS_PER_CALL = 1_000;

export async function embedFeatures(request: EmbedFeaturesRequest, deps: UserEmbeddingDeps): Promise<EmbedFeaturesResponse> {
  requireCount(request.users.length, 'users', 1, MAX_FEATURE_USERS_PER_CALL);
  request.users.forEach((user, i) => {
    for (const [name, value] of Object.entries(user.fields)) {
      const set = [value.id !== undefined, value.ids !== undefined, value.number !== undefined].filter(Boolean).length;
      if (set !== 1) throw new InvalidArgumentError(`users[${i}].fields[${name}]`, 'exactly one of id, ids, number must be set');
      if (value.number !== undefined && !Number.isFinite(value.number)) {
        throw new InvalidArgumentError(`users[${i}].fields[${name}].number`, 'is not a finite number');
      }
    }
  });
  requireKind(request.kind);
  const model = modelFor(deps.model, request.modelVersion);
  throw new UnimplementedError(`the user tower of model '${model.version}' is not available in this build`);
}
