import { Counter, Gauge } from 'prom-client';
import type { ServiceMetrics } from '@ralm/platform';
import type { SeedBook } from './domain/seed-book';
import type { SeedCollectorMetrics } from './ports';

/** `books`: this replica's partitions, read at scrape time. */
export function createSeedCollectorMetrics(service: ServiceMetrics, books: () => Iterable<SeedBook>): SeedCollectorMetrics {
  const p = service.prefix;
  const registers = [service.registry];
  return {
    clicks: new Counter({ name: `${p}_clicks_total`, help: 'Clicks by source (grpc, bus) and outcome (accepted, applied, duplicate, rejected, dropped).', labelNames: ['source', 'outcome'], registers }),
    rejections: new Counter({ name: `${p}_click_rejections_total`, help: 'Rejected clicks by reason.', labelNames: ['reason'], registers }),
    seedsAnnounced: new Counter({ name: `${p}_seeds_updated_published_total`, help: 'seeds.updated events published (coalesced per candidate).', registers }),
    feedback: new Counter({ name: `${p}_feedback_total`, help: 'Feedback events by source (grpc, bus) and outcome.', labelNames: ['source', 'outcome'], registers }),
    abExposures: new Counter({ name: 'ralm_ab_exposures_total', help: 'Exposure events counted in the A/B measures, by arm (live events only; a restart replays the day into the window, not here).', labelNames: ['arm'], registers }),
    abClicks: new Counter({ name: 'ralm_ab_clicks_total', help: 'Click events counted in the A/B measures, by arm (live events only).', labelNames: ['arm'], registers }),
    candidates: new Gauge({
      name: `${p}_candidates`,
      help: 'Registered candidates by state.',
      labelNames: ['state'],
      registers,
      // Read at scrape time rather than kept in step on every registration.
      collect() {
        const total: Record<string, number> = {};
        for (const book of books()) for (const [state, n] of Object.entries(book.countByState())) total[state] = (total[state] ?? 0) + n;
        for (const [state, n] of Object.entries(total)) this.set({ state }, n);
      },
    }),
  };
}
