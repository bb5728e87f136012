import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { ClustererServiceClient } from '@ralm/proto/clusterer';
import { callUnary } from '@ralm/platform';
import type { ClusterSource } from '../ports';

/** ClustererService.GetClusters; "no clusters" (NOT_FOUND, FAILED_PRECONDITION) is undefined, anything else throws. */
export function grpcClusterSource(address: string): ClusterSource & { close(): void } {
  const client = new ClustererServiceClient(address, credentials.createInsecure());
  return {
    async get(candidateId) {
      try {
        return await callUnary(client.getClusters.bind(client), { candidateId }, { timeoutMs: 10_000 });
      } catch (err) {
        const code = (err as ServiceError).code;
        if (code === status.NOT_FOUND || code === status.FAILED_PRECONDITION) return undefined;
        throw err;
      }
    },
    close: () => client.close(),
  };
}
