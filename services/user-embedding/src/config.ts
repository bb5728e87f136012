import { z } from 'zod';
import { commonConfigShape, loadConfig } from '@ralm/platform';

const schema = z.object({
  ...commonConfigShape,
});

export type UserEmbeddingConfig = z.output<typeof schema>;

export function loadUserEmbeddingConfig(environment: NodeJS.ProcessEnv): UserEmbeddingConfig {
  return loadConfig(schema, environment);
}
