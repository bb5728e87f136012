import type { Dataset } from '@ralm/data';

/**
 * A dataset split by time: events before `cutoff` train, the rest test.
 * Event indices refer to `dataset.events`.
 */
export interface TimeSplit {
  dataset: Dataset;
  /** Unix seconds; train events have timestamp < cutoff. */
  cutoff: number;
  trainEvents: Int32Array;
  testEvents: Int32Array;
  /** Per item: distinct users who clicked it in the train events (its seeds), sorted. */
  trainSeeds: Int32Array[];
}

/** A fitted look-alike model of any kind: scores (user, item) pairs; higher = more likely to click. */
export interface PairScorer {
  readonly name: string;
  /** One score per pair; float32 from the models, float64 where a row adds to them (a float32 sum would merge near-ties). */
  score(users: Int32Array, items: Int32Array): Float32Array | Float64Array;
  /** Frees what the scorer holds outside the JS heap (tfjs tensors). */
  dispose?(): void;
}

/** Builds a scorer from the train side of a split. `budgetMs` caps its fitting time where it can. */
export type Competitor = (split: TimeSplit, options: { seed: number; budgetMs?: number }) => Promise<PairScorer>;
