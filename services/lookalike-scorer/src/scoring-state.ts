import type { ScoringKernel, TablePrecision } from '@ralm/kernel';
import type { ServingModel } from '@ralm/model';
import { ScoreBatcher, type BatcherOptions } from './domain/batcher';
import { ScoringTable } from './domain/scoring-table';
import type { LookalikeScorerConfig } from './config';
import { DEADLINE_SHARE } from '@ralm/platform';

/**
 * Everything one model version serves with: the model (user embeddings, towers,
 * α, β), the table of candidates clustered with that model, and the batcher that
 * scores against that table. A new model gets a new state, filled in the background
 * and swapped in whole once complete (ModelStates), so a reply never mixes versions.
 */
/** The batcher's settings, from the scorer's config: one reading for the service and its benchmarks. */
export function batcherOptions(config: Pick<LookalikeScorerConfig, 'BATCH_WINDOW_MS' | 'MAX_BATCH_USERS'>): BatcherOptions {
  return { windowMs: config.BATCH_WINDOW_MS, maxUsers: config.MAX_BATCH_USERS, deadlineShare: DEADLINE_SHARE };
}

export class ScoringState {
  readonly table: ScoringTable;
  readonly batcher: ScoreBatcher;
  /** Every candidate servable with this model is in the table (or the wait for it ran out). */
  complete = false;
  /** Announced while the table was being completed; checked once it is. */
  readonly deferred = new Set<string>();

  constructor(
    readonly serving: ServingModel,
    readonly kernel: ScoringKernel,
    k: number,
    batch: BatcherOptions,
    precision: TablePrecision = 'float32',
  ) {
    this.table = new ScoringTable(k, serving.lookalikeDim, serving.average, precision);
    this.batcher = new ScoreBatcher(
      (eu, users) => ({ scores: kernel.score(this.table.kernelTable(), eu, users, serving.alpha, serving.beta), count: this.table.count }),
      serving.lookalikeDim,
      batch,
    );
  }

  get version(): string {
    return this.serving.version;
  }
}
