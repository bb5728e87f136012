import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { ClustererServiceClient } from '@ralm/proto/clusterer';
import { FeedbackServiceClient } from '@ralm/proto/feedback';
import { LookalikeScorerServiceClient } from '@ralm/proto/lookalike_scorer';
import { SeedCollectorServiceClient } from '@ralm/proto/seed_collector';
import { TrainerServiceClient } from '@ralm/proto/trainer';
import { UserEmbeddingServiceClient } from '@ralm/proto/user_embedding';
import type { Mesh } from './mesh';

/** Generated gRPC clients for every service of a mesh. */
export interface MeshClients {
  userEmbedding: UserEmbeddingServiceClient;
  seedCollector: SeedCollectorServiceClient;
  /** The A/B feedback intake (served by the seed collector). */
  feedback: FeedbackServiceClient;
  clusterer: ClustererServiceClient;
  lookalikeScorer: LookalikeScorerServiceClient;
  trainer: TrainerServiceClient;
  close(): void;
}

/** Clients of a mesh's services; plaintext unless `creds` (peerCredentials of a GRPC_TLS config) says otherwise. */
export function connectClients(mesh: Mesh, creds: ChannelCredentials = credentials.createInsecure()): MeshClients {
    const address = (name: Parameters<Mesh['service']>[0]) => mesh.service(name).host.address;
  const clients = {
    userEmbedding: new UserEmbeddingServiceClient(address('user-embedding'), creds),
    seedCollector: new SeedCollectorServiceClient(address('seed-collector'), creds),
    feedback: new FeedbackServiceClient(address('seed-collector'), creds),
    clusterer: new ClustererServiceClient(address('clusterer'), creds),
    lookalikeScorer: new LookalikeScorerServiceClient(address('lookalike-scorer'), creds),
    trainer: new TrainerServiceClient(address('trainer'), creds),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}
