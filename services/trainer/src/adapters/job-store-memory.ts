import type { Job } from '@ralm/proto/trainer';
import type { JobStore } from '../ports';

/** Jobs of this process; a restarted trainer forgets them (the models they published stay in the registry). */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly listeners = new Map<string, Set<(job: Job) => void>>();

  get(jobId: string): Job | undefined {
    return this.jobs.get(jobId);
  }

  put(job: Job): void {
    this.jobs.set(job.jobId, job);
    for (const listener of this.listeners.get(job.jobId) ?? []) listener(job);
  }

  watch(jobId: string, listener: (job: Job) => void): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }
}
