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
    loads: new Counter({ name: `${p}_cluster_loads_total`, help: 'Candidate precomputations by outcome (loaded, stale: another model, failed: GetClusters error).', labelNames: ['outcome'], registers }),
  };
}
