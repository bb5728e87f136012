import { z } from 'zod';
import { commonConfigShape, env, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
  /** Seeds a candidate needs before it is clustered (paper: 100). */
  CLUSTER_MIN_SEEDS: env.positiveInt(100),
  /** k: clusters per candidate (paper: 20). */
  CLUSTER_K: env.positiveInt(20),
  /** Durable consumer name prefix for this deployment's bus subscriptions. */
  DURABLE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('clusterer'),
});

export type ClustererConfig = z.output<typeof schema>;

export function loadClustererConfig(environment: NodeJS.ProcessEnv): ClustererConfig {
  return loadConfig(schema, environment);
}
