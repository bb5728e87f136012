import { LookalikeScorerServiceService } from '@ralm/proto/lookalike_scorer';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { score } from './handlers/score';
import { scoreBatch } from './handlers/score-batch';
import type { LookalikeScorerDeps } from './ports';

export const LOOKALIKE_SCORER_PROTO = 'ralm/v1/lookalike_scorer.proto';

export function lookalikeScorerBinding(deps: LookalikeScorerDeps): ServiceBinding {
  return bindService('ralm.v1.LookalikeScorerService', LookalikeScorerServiceService, {
    score: (req, ctx) => score(req, deps, ctx),
    scoreBatch: (req, ctx) => scoreBatch(req, deps, ctx),
  }) as ServiceBinding;
}
