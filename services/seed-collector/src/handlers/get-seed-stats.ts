import type { GetSeedStatsRequest, GetSeedStatsResponse } from '@ralm/proto/seed_collector';
import { requireId } from '@ralm/platform';
import { toCandidateProto } from '../mapping';
import type { SeedCollectorDeps } from '../ports';

export async function getSeedStats(request: GetSeedStatsRequest, deps: SeedCollectorDeps): Promise<GetSeedStatsResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  const record = deps.book.get(id);
  return {
    candidate: toCandidateProto(record),
    seedCount: deps.book.seedCount(id),
    seedVersion: record.seedVersion,
    seedCap: deps.config.SEED_CAP,
    totalClicks: record.totalClicks,
    lastClickAtMs: record.lastClickAtMs,
    servableMinSeeds: deps.config.SERVABLE_MIN_SEEDS,
  };
}
