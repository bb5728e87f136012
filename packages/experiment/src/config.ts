import { z } from 'zod';
import { env } from '@ralm/platform/config';
import { parseArms, type ExperimentConfig } from './assignment';

/**
 * The experiment's environment variables, spelled once for every service that assigns
 * arms (LookalikeScorer) or measures them (SeedCollector's feedback intake): both must
 * agree, so a deployment sets them from one value (the Helm chart's `experiment`).
 */
export const experimentConfigShape = {
  /** Names the experiment in Score replies and feedback events. */
  EXPERIMENT_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1..64 of [A-Za-z0-9_.-]').default('ralm-lookalike'),
  /** Mixed into the assignment hash; a new salt re-randomises every user. */
  EXPERIMENT_SALT: z.string().min(1).max(256).default('ralm-lookalike-1'),
  /** `name:weight,…` with one arm named `control`; weights are relative. */
  EXPERIMENT_ARMS: env.parsed('control:50,treatment:50', parseArms),
};

export function experimentFromConfig(c: { EXPERIMENT_ID: string; EXPERIMENT_SALT: string; EXPERIMENT_ARMS: ExperimentConfig['arms'] }): ExperimentConfig {
  return { id: c.EXPERIMENT_ID, salt: c.EXPERIMENT_SALT, arms: c.EXPERIMENT_ARMS };
}
