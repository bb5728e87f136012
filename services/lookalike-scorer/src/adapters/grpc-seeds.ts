import { Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { SeedCollectorServiceClient, type ListSeedsResponse } from '@ralm/proto/seed_collector';
import type { SeedSource } from '../ports';

/** A listing of a large seed set (a capped candidate holds up to its seed cap). */
const LIST_TIMEOUT_MS = 60_000;

/** SeedCollectorService.ListSeeds, every chunk; a candidate the collector never saw has no seeds. */
export function grpcSeedSource(address: string, creds: ChannelCredentials): SeedSource & { close(): void } {
  const client = new SeedCollectorServiceClient(address, creds);
  return {
    async list(candidateId, signal) {
      const call = client.listSeeds({ candidateId, limit: 0 }, new Metadata(), { deadline: Date.now() + LIST_TIMEOUT_MS });
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      const ids: string[] = [];
      try {
        for await (const chunk of call as AsyncIterable<ListSeedsResponse>) ids.push(...chunk.userIds);
        return ids;
      } catch (err) {
        if ((err as ServiceError).code === status.NOT_FOUND) return [];
        throw err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    close: () => client.close(),
  };
}
