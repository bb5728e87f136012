import { LookalikeScorerServiceService } from '@ralm/proto/lookalike_scorer';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { expandAudience } from './handlers/expand-audience';
import { explain } from './handlers/explain';
import { getExclusions, setExclusions } from './handlers/exclusions';
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
      explain: (req, ctx) => explain(req, deps, ctx),
      expandAudience: (req, ctx, send) => expandAudience(req, deps, ctx, send),
      setExclusions: (req) => setExclusions(req, deps),
      getExclusions: (req, ctx, send) => getExclusions(req, deps, ctx, send),
    },
    {
      // Both count users, and the bounds are for memory: the batcher knows what a user
      // costs and refuses a call whose wait would not fit its deadline, so a waiting
      // line here would only hide that wait from it.
      limits: {
        score: { concurrency: 1024, queue: 0 },
        scoreBatch: { concurrency: 4 * MAX_BATCH, queue: 0 },
        explain: { concurrency: 64, queue: 0 },
        // Each scores every stored user and holds their scores: a few at a time.
        expandAudience: { concurrency: 2, queue: 4 },
        setExclusions: { concurrency: 16, queue: 64 },
        getExclusions: { concurrency: 16, queue: 64 },
      },
      cost: { scoreBatch: (req) => req.requests.length },
    },
  ) as ServiceBinding;
}
