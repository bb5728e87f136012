import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceMetrics } from '@ralm/platform';
import type { ScorerMetrics } from './ports';

export function createScorerMetrics(service: ServiceMetrics, servable: () => number): ScorerMetrics {
  const p = service.prefix;
  const registers = [service.registry];
  new Gauge({
    name: `${p}_servable_candidates`,
    help: 'Candidates in the scoring table of the current model.',
    registers,
    collect() {
      this.set(servable());
    },
  });
  return {
    candidates: new Counter({ name: `${p}_scored_candidates_total`, help: 'Candidates answered, by whether they were servable (scored).', labelNames: ['servable'], registers }),
    batchUsers: new Histogram({ name: `${p}_batch_users`, help: 'Users scored per kernel call (the batcher merges concurrent calls).', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers }),
    // Named outside the service prefix: every A/B series is ralm_ab_*, wherever it is counted.
    assignments: new Counter({ name: 'ralm_ab_assignments_total', help: 'Score replies by experiment arm (ScoreBatch counts each result).', labelNames: ['arm'], registers }),
    loads: new Counter({ name: `${p}_cluster_loads_total`, help: 'Candidate precomputations by outcome (loaded; stale: another model; not_active; too_few_seeds: under SERVABLE_MIN_SEEDS; failed: GetClusters error).', labelNames: ['outcome'], registers }),
    completion: new Gauge({ name: `${p}_table_completion_candidates`, help: 'While a scoring table is completed (start, rollout): the clusterer\'s servable candidates (state="servable") and those clustered with the model (state="clustered").', labelNames: ['model_version', 'state'], registers }),
    rollouts: new Counter({ name: `${p}_model_rollouts_total`, help: 'New models swapped in, by outcome: complete (every servable candidate on the new model) or timeout (ROLLOUT_TIMEOUT_SECONDS ran out).', labelNames: ['outcome'], registers }),
    rolloutSeconds: new Histogram({ name: `${p}_model_rollout_seconds`, help: 'Seconds from a new model loaded to its table swapped in.', buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800], registers }),
  };
}
