import { z } from 'zod';
import { commonConfigShape, env, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
  /** Directory holding one sub-directory per model version (`<root>/<version>/manifest.json`). */
  MODEL_ROOT: env.path('.ralm/models'),
  /** Checkpoints of running jobs, one directory per run; a restarted job resumes from its latest epoch. */
  TRAINING_WORK_DIR: env.path('.ralm/training'),
  /** tfjs backend: auto picks tfjs-node-gpu, tfjs-node, wasm, cpu in that order of preference. */
  TRAINING_BACKEND: z.enum(['auto', 'wasm', 'cpu']).default('auto'),
  /** Least time between two progress updates of a running job (WatchJob messages), ms. */
  PROGRESS_INTERVAL_MS: env.nonNegativeInt(250),
});

export type TrainerConfig = z.output<typeof schema>;

export function loadTrainerConfig(environment: NodeJS.ProcessEnv): TrainerConfig {
  return loadConfig(schema, environment);
}
