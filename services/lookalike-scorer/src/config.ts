import { z } from 'zod';
import { commonConfigShape, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
});

export type LookalikeScorerConfig = z.output<typeof schema>;

export function loadLookalikeScorerConfig(environment: NodeJS.ProcessEnv): LookalikeScorerConfig {
  return loadConfig(schema, environment);
}
