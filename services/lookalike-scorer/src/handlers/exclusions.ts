import type { GetExclusionsRequest, GetExclusionsResponse, SetExclusionsRequest, SetExclusionsResponse } from '@ralm/proto/lookalike_scorer';
import { InvalidArgumentError, requireCount, requireId, type CallContext } from '@ralm/platform';
import { ExclusionLimitError } from '../adapters/exclusion-store';
import type { LookalikeScorerDeps } from '../ports';

export const MAX_EXCLUSION_EDIT = 100_000;
export const MAX_EXCLUSION_LIST = 1_000_000;
const CHUNK = 10_000;

export async function setExclusions(request: SetExclusionsRequest, deps: LookalikeScorerDeps): Promise<SetExclusionsResponse> {
  requireId(request.candidateId, 'candidate_id');
  for (const field of ['add_user_ids', 'remove_user_ids'] as const) {
    const ids = field === 'add_user_ids' ? request.addUserIds : request.removeUserIds;
    requireCount(ids.length, field, 0, MAX_EXCLUSION_EDIT);
    ids.forEach((id, i) => requireId(id, `${field}[${i}]`));
  }
  try {
    const list = await deps.exclusions.apply(request.candidateId, { clear: request.clear, add: request.addUserIds, remove: request.removeUserIds }, MAX_EXCLUSION_LIST);
    return { candidateId: request.candidateId, count: list.size };
  } catch (err) {
    if (err instanceof ExclusionLimitError) throw new InvalidArgumentError('add_user_ids', err.message);
    throw err;
  }
}

export async function getExclusions(request: GetExclusionsRequest, deps: LookalikeScorerDeps, ctx: CallContext, send: (chunk: GetExclusionsResponse) => Promise<void>): Promise<void> {
  requireId(request.candidateId, 'candidate_id');
  const ids = [...(await deps.exclusions.read(request.candidateId))].sort();
  for (let from = 0; from === 0 || from < ids.length; from += CHUNK) {
    await send({ userIds: ids.slice(from, from + CHUNK), total: ids.length });
    ctx.throwIfDone();
  }
}
