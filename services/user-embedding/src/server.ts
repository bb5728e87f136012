import { UserEmbeddingServiceService } from '@ralm/proto/user_embedding';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { embedFeatures } from './handlers/embed-features';
import { getEmbeddings } from './handlers/get-embeddings';
import { getModel } from './handlers/get-model';
import type { UserEmbeddingDeps } from './ports';

export const USER_EMBEDDING_PROTO = 'ralm/v1/user_embedding.proto';

export function userEmbeddingBinding(deps: UserEmbeddingDeps): ServiceBinding {
  return bindService('ralm.v1.UserEmbeddingService', UserEmbeddingServiceService, {
    getEmbeddings: (req) => getEmbeddings(req, deps),
    embedFeatures: (req) => embedFeatures(req, deps),
    getModel: () => getModel(deps),
  }) as ServiceBinding;
}
