import type { ListSeedsRequest, ListSeedsResponse } from '@ralm/proto/seed_collector';
import { requireId, requireIntInRange, type CallContext } from '@ralm/platform';
import type { SeedCollectorDeps } from '../ports';

export const SEEDS_PER_CHUNK = 10_000;

/** A candidate's newest seeds as of now, copied: the listing must not move while chunks wait on flow control. */
export function seedSnapshot(request: ListSeedsRequest, deps: SeedCollectorDeps): { seeds: string[]; seedVersion: number } {
  const id = requireId(request.candidateId, 'candidate_id');
  const limit = requireIntInRange(request.limit, 'limit', 0, deps.config.SEED_CAP) || deps.config.SEED_CAP;
  const seedVersion = deps.book.get(id).seedVersion;
  return { seeds: deps.book.newestSeeds(id, limit), seedVersion };
}

/** Sends a snapshot in chunks; an empty set is one empty chunk, so the caller learns the version. */
export async function sendSeeds(snapshot: { seeds: string[]; seedVersion: number }, ctx: CallContext, send: (chunk: ListSeedsResponse) => Promise<void>): Promise<void> {
  const { seeds, seedVersion } = snapshot;
  for (let i = 0; i === 0 || i < seeds.length; i += SEEDS_PER_CHUNK) {
    ctx.throwIfDone();
    await send({ userIds: seeds.slice(i, i + SEEDS_PER_CHUNK), seedVersion, total: seeds.length });
  }
}

export async function listSeeds(
  request: ListSeedsRequest,
  deps: SeedCollectorDeps,
  ctx: CallContext,
  send: (chunk: ListSeedsResponse) => Promise<void>,
): Promise<void> {
  await sendSeeds(seedSnapshot(request, deps), ctx, send);
}
