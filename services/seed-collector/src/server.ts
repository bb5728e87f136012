import { FeedbackServiceService } from '@ralm/proto/feedback';
import { SeedCollectorServiceService } from '@ralm/proto/seed_collector';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { reportFeedback } from './handlers/report-feedback';
import { reportClicks } from './handlers/report-clicks';
import { streamClicks } from './handlers/stream-clicks';
import type { SeedCollectorDeps } from './ports';
import type { SeedRouter } from './routing';

export const SEED_COLLECTOR_PROTO = 'ralm/v1/seed_collector.proto';
export const FEEDBACK_PROTO = 'ralm/v1/feedback.proto';

/**
 * Maps the generated service onto the handlers; nothing else lives here. Calls about one
 * candidate go through the router to the partition that holds it (routing.ts); `deps` is
 * this replica's first partition, for what every partition shares.
 */
export function seedCollectorBinding(deps: SeedCollectorDeps, router: SeedRouter): ServiceBinding {
  return bindService('ralm.v1.SeedCollectorService', SeedCollectorServiceService, {
    reportClicks: (req, ctx) => reportClicks(req, deps, ctx),
    streamClicks: (reqs, ctx) => streamClicks(reqs, deps, ctx),
    getSeedStats: (req, ctx) => router.getSeedStats(req, ctx),
    registerCandidate: (req, ctx) => router.registerCandidate(req, ctx),
    retireCandidate: (req, ctx) => router.retireCandidate(req, ctx),
    listSeeds: (req, ctx, send) => router.listSeeds(req, ctx, send),
  }) as ServiceBinding;
}

/** The A/B feedback intake, served by the same process as the clicks it may also carry. */
export function feedbackBinding(deps: SeedCollectorDeps): ServiceBinding {
  return bindService('ralm.v1.FeedbackService', FeedbackServiceService, {
    reportFeedback: (req, ctx) => reportFeedback(req, deps, ctx),
  }) as ServiceBinding;
}
