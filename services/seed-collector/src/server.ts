import { FeedbackServiceService } from '@ralm/proto/feedback';
import { SeedCollectorServiceService } from '@ralm/proto/seed_collector';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { reportFeedback } from './handlers/report-feedback';
import { getSeedStats } from './handlers/get-seed-stats';
import { listSeeds } from './handlers/list-seeds';
import { registerCandidate } from './handlers/register-candidate';
import { reportClicks } from './handlers/report-clicks';
import { retireCandidate } from './handlers/retire-candidate';
import { streamClicks } from './handlers/stream-clicks';
import type { SeedCollectorDeps } from './ports';

export const SEED_COLLECTOR_PROTO = 'ralm/v1/seed_collector.proto';
export const FEEDBACK_PROTO = 'ralm/v1/feedback.proto';

/** Maps the generated service onto the handlers; nothing else lives here. */
export function seedCollectorBinding(deps: SeedCollectorDeps): ServiceBinding {
  return bindService('ralm.v1.SeedCollectorService', SeedCollectorServiceService, {
    reportClicks: (req, ctx) => reportClicks(req, deps, ctx),
    streamClicks: (reqs, ctx) => streamClicks(reqs, deps, ctx),
    getSeedStats: (req) => getSeedStats(req, deps),
    registerCandidate: (req) => registerCandidate(req, deps),
    retireCandidate: (req) => retireCandidate(req, deps),
    listSeeds: (req, ctx, send) => listSeeds(req, deps, ctx, send),
  }) as ServiceBinding;
}

/** The A/B feedback intake, served by the same process as the clicks it may also carry. */
export function feedbackBinding(deps: SeedCollectorDeps): ServiceBinding {
  return bindService('ralm.v1.FeedbackService', FeedbackServiceService, {
    reportFeedback: (req, ctx) => reportFeedback(req, deps, ctx),
  }) as ServiceBinding;
}
