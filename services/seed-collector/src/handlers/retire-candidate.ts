import type { RetireCandidateRequest, RetireCandidateResponse } from '@ralm/proto/seed_collector';
import { InvalidArgumentError, Subjects, requireId } from '@ralm/platform';
import { toCandidateProto } from '../mapping';
import { saveCandidate } from '../persistence';
import type { SeedCollectorDeps } from '../ports';

const MAX_REASON = 1024;

export async function retireCandidate(request: RetireCandidateRequest, deps: SeedCollectorDeps): Promise<RetireCandidateResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  if (request.reason.length > MAX_REASON) throw new InvalidArgumentError('reason', `is longer than ${MAX_REASON} characters`);
  const record = deps.book.retire(id, request.reason, deps.now());
  await saveCandidate(deps.store, record);
  const candidate = toCandidateProto(record);
  // Published on every call, not only the first: a caller whose first publish failed retries
  // the RPC to get the event out. The msgId makes repeats inside the duplicate window no-ops.
  await deps.bus.publish(Subjects.candidateRetired, { candidate }, { msgId: `retired:${id}` });
  return { candidate };
}
