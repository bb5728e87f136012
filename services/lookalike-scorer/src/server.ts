import { LookalikeScorerServiceService } from '@ralm/proto/lookalike_scorer';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { score } from './handlers/score';
import { MAX_BATCH, scoreBatch } from './handlers/score-batch';
import type { LookalikeScorerDeps } from './ports';

export const LOOKALIKE_SCORER_PROTO = 'ralm/v1/lookalike_scorer.proto';

export function lookalikeScorerBinding(deps: LookalikeScorerDeps): ServiceBinding {
  return bindService(
    'ralm.v1.LookalikeScorerService',
    LookalikeScorerServiceService,
    {
      score: (req, ctx) => score(req, deps, ctx),
      scoreBatch: (req, ctx) => scoreBatch(req, deps, ctx),
    },
    {
      // Both count users. Concurrent users are what the batcher stacks into one product,
      // so the turns cover a few full products; the queue is bounded by what a deadline
      // lets wait (admission refuses a call its turn would come too late for).
      limits: {
        score: { concurrency: 4 * deps.config.MAX_BATCH_USERS, queue: 1024 },
        scoreBatch: { concurrency: 2 * MAX_BATCH, queue: 8 * MAX_BATCH },
      },
      cost: { scoreBatch: (req) => req.requests.length },
    },
  ) as ServiceBinding;
}
