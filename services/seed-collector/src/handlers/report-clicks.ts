import type { ReportClicksRequest, ReportClicksResponse } from '@ralm/proto/seed_collector';
import type { CallContext } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';

export async function reportClicks(request: ReportClicksRequest, deps: SeedCollectorDeps, ctx: CallContext): Promise<ReportClicksResponse> {
  return deps.seeds.ingest(request.clicks, ctx);
}
