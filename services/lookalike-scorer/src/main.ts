import { tracing } from './tracing';
import { runMain } from '@ralm/platform';
import { loadLookalikeScorerConfig } from './config';
import { createLookalikeScorer } from './module';

runMain({ name: 'lookalike-scorer', tracing, loadConfig: loadLookalikeScorerConfig, create: createLookalikeScorer });
