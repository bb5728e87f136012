import type { StreamClicksRequest, StreamClicksResponse } from '@ralm/proto/seed_collector';
import { InvalidArgumentError, type CallContext } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';

/** Each message is ingested as it arrives, so a failure later in the stream keeps earlier clicks recorded. */
export async function streamClicks(
  requests: AsyncIterable<StreamClicksRequest>,
  deps: SeedCollectorDeps,
  ctx: CallContext,
): Promise<StreamClicksResponse> {
  const totals: StreamClicksResponse = { accepted: 0, duplicates: 0, rejected: 0 };
  let message = 0;
  for await (const request of requests) {
    try {
      const result = await deps.seeds.ingest(request.clicks, ctx);
      totals.accepted += result.accepted;
      totals.duplicates += result.duplicates;
      totals.rejected += result.rejections.length;
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`message[${message}].${err.field}`, err.reason);
      throw err;
    }
    message++;
  }
  return totals;
}
