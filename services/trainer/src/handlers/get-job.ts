import type { GetJobRequest, GetJobResponse, Job } from '@ralm/proto/trainer';
import { NotFoundError, requireId } from '@ralm/platform';
import type { TrainerDeps } from '../ports';

export function requireJob(jobId: string, deps: TrainerDeps): Job {
  const id = requireId(jobId, 'job_id');
  const job = deps.jobs.get(id);
  if (!job) throw new NotFoundError('job', id);
  return job;
}

export async function getJob(request: GetJobRequest, deps: TrainerDeps): Promise<GetJobResponse> {
  return { job: requireJob(request.jobId, deps) };
}
