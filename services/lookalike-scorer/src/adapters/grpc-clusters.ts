import { Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { ClustererServiceClient, type ListClustersResponse } from '@ralm/proto/clusterer';
import { callUnary } from '@ralm/platform';
import type { ClusterSource } from '../ports';

/** A whole table's clusters: 10,000 candidates of k = 20 × d = 128 floats is about 100 MB. */
const LIST_TIMEOUT_MS = 300_000;

/** ClustererService.GetClusters; "no clusters" (NOT_FOUND, FAILED_PRECONDITION) is undefined, anything else throws. */
export function grpcClusterSource(address: string, creds: ChannelCredentials): ClusterSource & { close(): void } {
  const client = new ClustererServiceClient(address, creds);
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
    async *list(modelVersion, signal) {
      const call = client.listClusters({ modelVersion, countsOnly: false }, new Metadata(), { deadline: Date.now() + LIST_TIMEOUT_MS });
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const page of call as AsyncIterable<ListClustersResponse>) yield page;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    async counts(modelVersion) {
      const call = client.listClusters({ modelVersion, countsOnly: true }, new Metadata(), { deadline: Date.now() + 10_000 });
      for await (const page of call as AsyncIterable<ListClustersResponse>) return { servable: page.servable, clusteredWithModel: page.clusteredWithModel };
      throw new Error('ListClusters(counts_only) ended without a page');
    },
    close: () => client.close(),
  };
}
