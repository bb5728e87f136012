import { z } from 'zod';
import { commonConfigShape, env, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
  /** Directory holding one sub-directory per model version (`<root>/<version>/manifest.json`). */
  MODEL_ROOT: env.path('.ralm/models'),
});

export type TrainerConfig = z.output<typeof schema>;

export function loadTrainerConfig(environment: NodeJS.ProcessEnv): TrainerConfig {
  return loadConfig(schema, environment);
}
