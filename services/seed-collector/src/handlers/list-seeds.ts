import type { ListSeedsRequest, ListSeedsResponse } from '@ralm/proto/seed_collector';
import { requireId, requireIntInRange, type CallContext } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';

const CHUNK = 10_000;

export async function listSeeds(
  request: ListSeedsRequest,
  deps: SeedCollectorDeps,
  ctx: CallContext,
  send: (chunk: ListSeedsResponse) => Promise<void>,
): Promise<void> {
  const id = requireId(request.candidateId, 'candidate_id');
  const limit = requireIntInRange(request.limit, 'limit', 0, deps.config.SEED_CAP) || deps.config.SEED_CAP;
  // Copy first: the snapshot must not move while chunks wait on flow control.
  const seedVersion = deps.book.get(id).seedVersion;
  const seeds = deps.book.newestSeeds(id, limit);
  for (let i = 0; i === 0 || i < seeds.length; i += CHUNK) {
    ctx.throwIfDone();
    await send({ userIds: seeds.slice(i, i + CHUNK), seedVersion, total: seeds.length });
  }
}
