import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceMetrics } from '@ralm/platform';
import type { ClustererMetrics } from './ports';

export function createClustererMetrics(service: ServiceMetrics, clustered: () => number): ClustererMetrics {
  const p = service.prefix;
  const registers = [service.registry];
  new Gauge({
    name: `${p}_clustered_candidates`,
    help: 'Candidates with clusters served by GetClusters.',
    registers,
    collect() {
      this.set(clustered());
    },
  });
  const served = new Gauge({ name: `${p}_user_embedding_model_info`, help: 'The model version UserEmbedding serves, as the clusterer last heard (1 on that version).', labelNames: ['model_version'], registers });
  return {
    servedModel(version) {
      served.reset();
      if (version) served.set({ model_version: version }, 1);
    },
    rollout: new Gauge({ name: `${p}_model_rollout_candidates`, help: 'Bulk re-clustering for a new model: candidates in the job (state="total") and re-clustered so far (state="done").', labelNames: ['state'], registers }),
    runs: new Counter({ name: `${p}_clusterings_total`, help: 'Clusterings by outcome and by why they ran (first, model, growth, schedule, rpc).', labelNames: ['outcome', 'reason'], registers }),
    seconds: new Histogram({ name: `${p}_clustering_seconds`, help: 'Seconds per clustering, seed and embedding fetches included.', buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers }),
  };
}

/** `<prefix>_jobs_total{outcome}`: clustering jobs this process took from the queue (work.ts), coordinator or worker. */
export function createJobMetrics(service: ServiceMetrics): Counter<'outcome'> {
  return new Counter({ name: `${service.prefix}_jobs_total`, help: 'Clustering jobs taken from the workers queue, by outcome (clustered, no_seeds, up_to_date, model_changed, failed).', labelNames: ['outcome'], registers: [service.registry] });
}
