import type { ScoringKernel } from '@ralm/kernel';
import type { ServingModel } from '@ralm/model';
import { ScoreBatcher } from './domain/batcher';
import { ScoringTable } from './domain/scoring-table';

/**
 * Everything one model version serves with: the model (user embeddings, towers,
 * α, β), the table of candidates clustered with that model, and the batcher that
 * scores against that table. A new model gets a new state, filled in the background
 * and swapped in whole once complete (ModelStates), so a reply never mixes versions.
 */
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
    batch: { windowMs: number; maxUsers: number },
  ) {
    this.table = new ScoringTable(k, serving.lookalikeDim, serving.average);
    this.batcher = new ScoreBatcher(
      (eu, users) => ({ scores: kernel.score(this.table.kernelTable(), eu, users, serving.alpha, serving.beta), count: this.table.count }),
      serving.lookalikeDim,
      batch.windowMs,
      batch.maxUsers,
    );
  }

  get version(): string {
    return this.serving.version;
  }
}
