import type { ExpandAudienceRequest, ExpandAudienceResponse } from '@ralm/proto/lookalike_scorer';
import { FailedPreconditionError, InvalidArgumentError, requireCount, requireId, requireIntInRange, UnavailableError, type CallContext } from '@ralm/platform';
import { rankAudience, scoreAllUsers } from '../domain/audience';
import type { LookalikeScorerDeps } from '../ports';
import { requireSlot, requireState } from './score';

export const MAX_AUDIENCE_SIZE = 1_000_000;
export const MAX_EXCLUDED_USERS = 100_000;
export const MAX_PAGE_SIZE = 10_000;
export const DEFAULT_PAGE_SIZE = 1_000;

function validate(request: ExpandAudienceRequest): void {
  requireId(request.candidateId, 'candidate_id');
  const { size, fraction } = request;
  if ((size === undefined) === (fraction === undefined)) throw new InvalidArgumentError('audience', 'set exactly one of size and fraction');
  if (size !== undefined) requireIntInRange(size, 'size', 1, MAX_AUDIENCE_SIZE);
  if (fraction !== undefined && !(Number.isFinite(fraction) && fraction > 0 && fraction <= 1)) throw new InvalidArgumentError('fraction', `must be in (0, 1], got ${fraction}`);
  requireCount(request.excludeUserIds.length, 'exclude_user_ids', 0, MAX_EXCLUDED_USERS);
  request.excludeUserIds.forEach((id, i) => requireId(id, `exclude_user_ids[${i}]`));
  if (request.minScore !== undefined && !Number.isFinite(request.minScore)) throw new InvalidArgumentError('min_score', `must be finite, got ${request.minScore}`);
  requireIntInRange(request.pageSize, 'page_size', 0, MAX_PAGE_SIZE);
}

/**
 * ExpandAudience: every stored user scored for one candidate (scoreAllUsers), the seeds, the
 * candidate's exclusion list and the request's exclusions left out, the best `size` (or `fraction` of the store) streamed in
 * pages. The whole audience is computed before the first page: a ranking cannot be streamed
 * before every user is scored, and the pages then agree on one model version.
 */
export async function expandAudience(request: ExpandAudienceRequest, deps: LookalikeScorerDeps, ctx: CallContext, send: (page: ExpandAudienceResponse) => Promise<void>): Promise<void> {
  validate(request);
  const min = deps.config.MIN_AUDIENCE_SIZE;
  if (request.size !== undefined && request.size < min) throw new InvalidArgumentError('size', `must be at least the minimum audience of ${min}, got ${request.size}`);
  const state = requireState(deps);
  requireSlot(state, deps, request.candidateId); // before reading its seeds
  const { serving, table } = state;
  const rows = serving.rows;
  const users = rows.size;
  const size = request.size ?? Math.floor((request.fraction ?? 0) * users);
  if (size < min) throw new InvalidArgumentError('fraction', `${request.fraction} of ${users} users is ${size}, under the minimum audience of ${min}`);

  const excluded = new Set<number>();
  const exclude = (id: string) => {
    const row = rows.get(id);
    if (row !== undefined) excluded.add(row);
  };
  request.excludeUserIds.forEach(exclude);
  for (const id of await deps.exclusions.read(request.candidateId)) exclude(id);
  if (!request.includeSeeds) {
    let seeds: string[];
    try {
      seeds = await deps.seeds.list(request.candidateId, ctx.signal);
    } catch (err) {
      // Without the seeds the audience would contain them: refuse rather than leak them.
      throw new UnavailableError(`the seeds of '${request.candidateId}' could not be read from the seed collector (${(err as Error).message}); retry, or set include_seeds`);
    }
    seeds.forEach(exclude);
  }
  ctx.throwIfDone();
  // The slot may have moved while the seeds were read (a candidate added or removed): look it up again.
  const slot = requireSlot(state, deps, request.candidateId);
  const scores = scoreAllUsers(state.kernel, table.kernelTable(), slot, serving.lookalike, users, serving.alpha, serving.beta);
  // The store's ids by row: what `rows` was built from.
  const ids = serving.model.store.userIds;
  const ranked = rankAudience(scores, { size, excluded, minScore: request.minScore ?? -Infinity }, (row) => ids[row]!);
  if (ranked.length < min) {
    throw new FailedPreconditionError(`only ${ranked.length} users remain after the seeds, exclusions and min_score: under the minimum audience of ${min}`);
  }
  ctx.throwIfDone();
  const pageSize = request.pageSize || DEFAULT_PAGE_SIZE;
  const pages = Math.ceil(ranked.length / pageSize);
  const common = {
    candidateId: request.candidateId,
    modelVersion: state.version,
    clusterVersion: table.clusterVersionAt(slot),
    seedCount: table.seedCountAt(slot),
    audienceSize: ranked.length,
    usersRanked: users,
    excluded: excluded.size,
  };
  for (let page = 0; page < pages; page++) {
    const members = ranked.slice(page * pageSize, (page + 1) * pageSize).map((row) => ({ userId: ids[row]!, score: scores[row]! }));
    await send({ ...common, members, page, last: page === pages - 1 });
    ctx.throwIfDone();
  }
}
