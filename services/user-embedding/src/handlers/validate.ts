import { EmbeddingKind } from '@ralm/proto/user_embedding';
import { FailedPreconditionError, InvalidArgumentError } from '@ralm/platform';
import type { LoadedModel, ModelSlot } from '../ports';

/** The model a request is answered with, or why there is none. Pinning a version that is not loaded fails rather than mixing versions. */
export function modelFor(slot: ModelSlot, pinnedVersion: string): LoadedModel {
  const model = slot.current();
  if (!model) {
    throw new FailedPreconditionError(
      'no model is loaded yet: train one (`npx ralm train`) and publish it; this service loads it on ralm.v1.model.published',
    );
  }
  if (pinnedVersion && pinnedVersion !== model.version) {
    throw new FailedPreconditionError(`model_version '${pinnedVersion}' is not loaded; the current model is '${model.version}'`);
  }
  return model;
}

export function requireKind(kind: EmbeddingKind): EmbeddingKind {
  if (kind === EmbeddingKind.EMBEDDING_KIND_UNSPECIFIED) return EmbeddingKind.EMBEDDING_KIND_LOOKALIKE;
  if (!(kind in EmbeddingKind) || kind === EmbeddingKind.UNRECOGNIZED) throw new InvalidArgumentError('kind', `unknown embedding kind ${kind}`);
  return kind;
}
