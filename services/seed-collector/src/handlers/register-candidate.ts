import type { RegisterCandidateRequest, RegisterCandidateResponse } from '@ralm/proto/seed_collector';
import { InvalidArgumentError, Subjects, requireId } from '@ralm/platform';
import { toCandidateProto } from '../mapping';
import { saveCandidate } from '../persistence';
import type { SeedCollectorDeps } from '../ports';

const MAX_TAGS = 64;
const MAX_TEXT = 256;

export async function registerCandidate(request: RegisterCandidateRequest, deps: SeedCollectorDeps): Promise<RegisterCandidateResponse> {
  const id = requireId(request.candidateId, 'candidate_id');
  if (request.category.length > MAX_TEXT) throw new InvalidArgumentError('category', `is longer than ${MAX_TEXT} characters`);
  if (request.tags.length > MAX_TAGS) throw new InvalidArgumentError('tags', `has ${request.tags.length} tags; at most ${MAX_TAGS} allowed`);
  const seen = new Set<string>();
  request.tags.forEach((tag, i) => {
    requireId(tag, `tags[${i}]`);
    if (seen.has(tag)) throw new InvalidArgumentError(`tags[${i}]`, `duplicates tag '${tag}'`);
    seen.add(tag);
  });
  const { record, created } = deps.book.register(id, request.category, request.tags, deps.now());
  await saveCandidate(deps.store, record);
  const candidate = toCandidateProto(record);
  await deps.bus.publish(Subjects.candidateRegistered, { candidate, created });
  return { candidate, created };
}
