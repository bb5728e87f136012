import type { ClustererConfig } from './config';
import type { SeedTracker } from './domain/seed-tracker';

export interface ClustererDeps {
  readonly config: ClustererConfig;
  readonly tracker: SeedTracker;
}
