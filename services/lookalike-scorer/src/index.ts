export { createLookalikeScorer, type LookalikeScorerModule } from './module';
export { loadLookalikeScorerConfig, type LookalikeScorerConfig } from './config';
