import type { RetireCandidateRequest, RetireCandidateResponse } from '@ralm/proto/seed_collector';
import { InvalidArgumentError, Subjects, requireId } from '@ralm/platform';
import { toCandidateProto } from '../mapping';
import type { SeedCollectorDeps } from '../ports';

const MAX_REASON = 1024;

export async function retireCandidate(request: RetireCandidateRequest, deps: SeedCollectorDeps): Promise<RetireCandidateResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  if (request.reason.length > MAX_REASON) throw new InvalidArgumentError('reason', `is longer than ${MAX_REASON} characters`);
  const wasActive = deps.book.get(id).state === 'active';
  const candidate = toCandidateProto(deps.book.retire(id, request.reason, deps.now()));
  if (wasActive) await deps.bus.publish(Subjects.candidateRetired, { candidate });
  return { candidate };
}
