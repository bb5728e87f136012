import type { Logger } from '@ralm/platform';
import type { ScoringState } from './scoring-state';

export interface ModelStatesOptions {
  logger: Logger;
  /** A state that no reply can pick up any more (replaced, or superseded before it was used). */
  retire(state: ScoringState): void;
  /** A rollout ended: `next` became active, because its table was complete or the wait ran out. */
  promoted?(state: ScoringState, outcome: 'complete' | 'timeout', seconds: number): void;
}

/**
 * The scoring states a scorer holds: `active`, which every reply is answered from,
 * and during a rollout `next`, the new model's, filled in the background. A new
 * model never empties the table: `next` becomes active in one assignment once its
 * table is complete (the clusterer has clustered every servable candidate with it
 * and they are loaded), and a reply holds the state it started with, so it never
 * mixes versions. The first model has nothing to keep and is active at once; it is
 * `restored` (readiness) once complete in the same sense.
 */
export class ModelStates {
  active: ScoringState | undefined;
  next: ScoringState | undefined;
  private startedAt = 0;

  constructor(private readonly options: ModelStatesOptions) {}

  /** The state whose model is `version`, if held. */
  stateFor(version: string): ScoringState | undefined {
    if (this.next?.version === version) return this.next;
    if (this.active?.version === version) return this.active;
    return undefined;
  }

  /** True while `state` may still receive rows (active or next). */
  holds(state: ScoringState): boolean {
    return state === this.active || state === this.next;
  }

  /** A model was loaded: active at once if it is the first, otherwise rolled out. */
  loaded(state: ScoringState): void {
    const { logger } = this.options;
    if (!this.active) {
      this.active = state;
      return;
    }
    if (this.next) {
      logger.warn({ superseded: this.next.version, by: state.version }, 'rollout superseded by a newer model before its table was complete');
      this.options.retire(this.next);
    }
    this.next = state;
    this.startedAt = performance.now();
    logger.info({ from: this.active.version, to: state.version, serving: this.active.table.count }, 'rolling out a new model; the current one serves until the new table is complete');
  }

  /**
   * `state`'s table is complete (or its wait ran out: 'timeout'): restored if active,
   * promoted if next.
   */
  completed(state: ScoringState, outcome: 'complete' | 'timeout'): void {
    state.complete = true;
    if (state === this.next) this.promote(outcome);
  }

  private promote(outcome: 'complete' | 'timeout'): void {
    const next = this.next!;
    const previous = this.active!;
    const seconds = (performance.now() - this.startedAt) / 1000;
    if (outcome === 'timeout') {
      const missing = previous.table.candidateIds().filter((id) => next.table.slot(id) === undefined);
      this.options.logger.error(
        { from: previous.version, to: next.version, seconds, uncovered: missing.length, examples: missing.slice(0, 10) },
        'rollout timed out: swapping to the new model with the candidates it has; the others are not servable until re-clustered',
      );
    }
    // One assignment: replies started before it keep the previous state to their end.
    this.active = next;
    this.next = undefined;
    this.options.logger.info({ from: previous.version, to: next.version, candidates: next.table.count, seconds: Math.round(seconds * 10) / 10, outcome }, 'model rolled out');
    this.options.promoted?.(next, outcome, seconds);
    this.options.retire(previous);
  }
}
