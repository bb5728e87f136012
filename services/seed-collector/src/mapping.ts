import { CandidateState, type Candidate } from '@ralm/proto/common';
import type { CandidateRecord } from './domain/seed-book';

const STATE: Record<CandidateRecord['state'], CandidateState> = {
  active: CandidateState.CANDIDATE_STATE_ACTIVE,
  retired: CandidateState.CANDIDATE_STATE_RETIRED,
  expired: CandidateState.CANDIDATE_STATE_EXPIRED,
};

export function toCandidateProto(record: CandidateRecord): Candidate {
  return {
    candidateId: record.candidateId,
    category: record.category,
    tags: [...record.tags],
    state: STATE[record.state],
    registeredAtMs: record.registeredAtMs,
    retiredAtMs: record.retiredAtMs,
    retiredReason: record.retiredReason,
  };
}
