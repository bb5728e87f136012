import { EmbeddingKind, type GetEmbeddingsRequest, type GetEmbeddingsResponse, type UserEmbedding } from '@ralm/proto/user_embedding';
import { requireCount, requireId } from '@ralm/platform';
import type { UserEmbeddingDeps } from '../ports';
import { modelFor, requireKind } from './validate';

export const MAX_USERS_PER_CALL = 10_000;

export async function getEmbeddings(request: GetEmbeddingsRequest, deps: UserEmbeddingDeps): Promise<GetEmbeddingsResponse> {
  requireCount(request.userIds.length, 'user_ids', 1, MAX_USERS_PER_CALL);
  request.userIds.forEach((id, i) => requireId(id, `user_ids[${i}]`));
  const kind = requireKind(request.kind);
  // One read of the slot: the whole reply comes from this version even if a swap lands meanwhile.
  const model = modelFor(deps.model, request.modelVersion);
  const universal = kind === EmbeddingKind.EMBEDDING_KIND_UNIVERSAL;
  const dim = universal ? model.userDim : model.lookalikeDim;
  const matrix = universal ? model.universal : model.lookalike;
  const embeddings: UserEmbedding[] = [];
  const missingUserIds: string[] = [];
  for (const userId of request.userIds) {
    const row = model.rows.get(userId);
    if (row === undefined) missingUserIds.push(userId);
    else embeddings.push({ userId, values: Array.from(matrix.subarray(row * dim, row * dim + dim)) });
  }
  return { modelVersion: model.version, dimension: dim, embeddings, missingUserIds, kind };
}
