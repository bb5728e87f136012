import { credentials } from '@grpc/grpc-js';
import { ClustererServiceClient } from '@ralm/proto/clusterer';
import { FeedbackServiceClient } from '@ralm/proto/feedback';
import { LookalikeScorerServiceClient } from '@ralm/proto/lookalike_scorer';
import { SeedCollectorServiceClient } from '@ralm/proto/seed_collector';
import { TrainerServiceClient } from '@ralm/proto/trainer';
import { UserEmbeddingServiceClient } from '@ralm/proto/user_embedding';
import type { Mesh } from './mesh';

/** Generated gRPC clients for every service of a mesh (plaintext: loopback or inside the cluster network). */
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

export function connectClients(mesh: Mesh): MeshClients {
  const insecure = credentials.createInsecure();
  const address = (name: Parameters<Mesh['service']>[0]) => mesh.service(name).host.address;
  const clients = {
    userEmbedding: new UserEmbeddingServiceClient(address('user-embedding'), insecure),
    seedCollector: new SeedCollectorServiceClient(address('seed-collector'), insecure),
    feedback: new FeedbackServiceClient(address('seed-collector'), insecure),
    clusterer: new ClustererServiceClient(address('clusterer'), insecure),
    lookalikeScorer: new LookalikeScorerServiceClient(address('lookalike-scorer'), insecure),
    trainer: new TrainerServiceClient(address('trainer'), insecure),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}
