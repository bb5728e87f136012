import type { LookalikeScorerConfig } from './config';

/** The look-alike model the scorer serves with; absent until one is published and loaded. */
export interface ScoringModel {
  readonly version: string;
}

export interface LookalikeScorerDeps {
  readonly config: LookalikeScorerConfig;
  currentModel(): ScoringModel | undefined;
}
