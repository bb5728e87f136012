import type { ListModelsRequest, ListModelsResponse } from '@ralm/proto/trainer';
import type { TrainerDeps } from '../ports';

export async function listModels(_request: ListModelsRequest, deps: TrainerDeps): Promise<ListModelsResponse> {
  const models = await deps.models.list();
  return { models, currentVersion: models[0]?.modelVersion ?? '' };
}
