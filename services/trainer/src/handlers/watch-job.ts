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
        ctx.throwIfDone(); // an abort that already happened would never fire the listener below
        await new Promise<void>((resolve) => {
          const onAbort = () => resolve();
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          // Removed on wake so a long job's many updates do not pile up listeners.
          wake = () => {
            ctx.signal.removeEventListener('abort', onAbort);
            resolve();
          };
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
