import { JobState, type Job, type WatchJobRequest, type WatchJobResponse } from '@ralm/proto/trainer';
import type { CallContext } from '@ralm/platform';
import type { TrainerDeps } from '../ports';
import { requireJob } from './get-job';

const FINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** Sends the current state, then every change, and ends with the job (or when the caller goes away). */
export async function watchJob(
  request: WatchJobRequest,
  deps: TrainerDeps,
  ctx: CallContext,
  send: (response: WatchJobResponse) => Promise<void>,
): Promise<void> {
  let job = requireJob(request.jobId, deps);
  const queue: Job[] = [];
  let wake: (() => void) | undefined;
  const unwatch = deps.jobs.watch(job.jobId, (next) => {
    queue.push(next);
    wake?.();
  });
  try {
    await send({ job });
    while (!FINAL.has(job.state)) {
      if (queue.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        ctx.throwIfDone();
        continue;
      }
      job = queue.shift()!;
      await send({ job });
    }
  } finally {
    unwatch();
  }
}
