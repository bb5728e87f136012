import type { ServiceDeps, ServiceModule } from '@ralm/platform';
import type { LookalikeScorerConfig } from './config';
import type { LookalikeScorerDeps, ScoringModel } from './ports';
import { LOOKALIKE_SCORER_PROTO, lookalikeScorerBinding } from './server';

export interface LookalikeScorerModule extends ServiceModule {
  readonly deps: LookalikeScorerDeps;
}

export function createLookalikeScorer(config: LookalikeScorerConfig, _platform: ServiceDeps): LookalikeScorerModule {
  // Stays empty until model loading lands: Score answers FAILED_PRECONDITION meanwhile.
  let model: ScoringModel | undefined;
  const deps: LookalikeScorerDeps = { config, currentModel: () => model };
  return { deps, bindings: [lookalikeScorerBinding(deps)], protoFiles: [LOOKALIKE_SCORER_PROTO] };
}
