import { EmbeddingKind, type EmbedFeaturesRequest, type EmbedFeaturesResponse } from '@ralm/proto/user_embedding';
import { requireCount, requireRawFeatures, requireUserFeatures } from '@ralm/platform';
import { embedRawFeatures } from '@ralm/model';
import { cacheKey, type CachedEmbedding } from '../domain/embedding-cache';
import type { UserEmbeddingDeps } from '../ports';
import { modelFor, requireKind } from './validate';

export const MAX_FEATURE_USERS_PER_CALL = 1_000;

/** Runs the user tower (then T) on raw features: a user the store never saw is embeddable on its first request. */
export async function embedFeatures(request: EmbedFeaturesRequest, deps: UserEmbeddingDeps): Promise<EmbedFeaturesResponse> {
  requireCount(request.users.length, 'users', 1, MAX_FEATURE_USERS_PER_CALL);
  request.users.forEach((user, i) => requireUserFeatures(user, `users[${i}]`));
  const kind = requireKind(request.kind);
  const model = modelFor(deps.model, request.modelVersion);
  const raws = request.users.map((user, i) => requireRawFeatures(user, model.fields, `users[${i}]`, model.version));
  const keys = raws.map((raw) => cacheKey(model.version, raw));
  const results: Array<CachedEmbedding | undefined> = keys.map((key) => deps.cache.get(key));
  const missing = results.flatMap((r, i) => (r ? [] : [i]));
  if (missing.length > 0) {
    // One tower pass for every miss of the request.
    const { universal, lookalike } = embedRawFeatures(model, missing.map((i) => raws[i]!));
    missing.forEach((i, r) => {
      const entry = {
        universal: universal.slice(r * model.userDim, (r + 1) * model.userDim),
        lookalike: lookalike.slice(r * model.lookalikeDim, (r + 1) * model.lookalikeDim),
      };
      deps.cache.set(keys[i]!, entry);
      results[i] = entry;
    });
  }
  const universalKind = kind === EmbeddingKind.EMBEDDING_KIND_UNIVERSAL;
  return {
    modelVersion: model.version,
    dimension: universalKind ? model.userDim : model.lookalikeDim,
    embeddings: results.map((r) => ({ values: Array.from(universalKind ? r!.universal : r!.lookalike) })),
    kind,
  };
}
