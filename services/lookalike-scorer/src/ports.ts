import type { Counter, Gauge, Histogram } from 'prom-client';
import type { ArmAssigner } from '@ralm/experiment';
import type { GetClustersResponse, ListClustersResponse } from '@ralm/proto/clusterer';
import type { LookalikeScorerConfig } from './config';
import type { CandidateBook } from './domain/candidate-book';
import type { ScoringState } from './scoring-state';
import type { ExclusionStore } from './adapters/exclusion-store';

/** Where a candidate's latest clusters come from (ClustererService.GetClusters). */
export interface ClusterSource {
  /** The latest clusters, or undefined when the candidate has none (NOT_FOUND / FAILED_PRECONDITION). */
  get(candidateId: string): Promise<GetClustersResponse | undefined>;
  /** Every servable candidate's clusters made with `modelVersion`, page by page (ListClusters). */
  list(modelVersion: string, signal?: AbortSignal): AsyncIterable<ListClustersResponse>;
  /** How far the clusterer is with `modelVersion`: servable candidates, and those clustered with it. */
  counts(modelVersion: string): Promise<{ servable: number; clusteredWithModel: number }>;
}

/** A candidate's seeds (SeedCollectorService.ListSeeds): who an expansion leaves out unless asked. */
export interface SeedSource {
  /** Every seed user id of the candidate (none when the collector does not know it). */
  list(candidateId: string, signal?: AbortSignal): Promise<string[]>;
}

export interface ScorerMetrics {
  /** Candidates scored, by servable or not. */
  candidates: Counter<'servable'>;
  /** Users per kernel call (the batcher's batch size). */
  batchUsers: Histogram<string>;
  /** Candidate precomputations by outcome (loaded, stale, not_active, too_few_seeds, failed). */
  loads: Counter<'outcome'>;
  /** While a table is being completed: the clusterer's servable candidates and those clustered with its model. */
  completion: Gauge<'model_version' | 'state'>;
  /** Rollouts of a new model by outcome (complete, timeout) and their seconds. */
  rollouts: Counter<'outcome'>;
  rolloutSeconds: Histogram<string>;
  /** Score replies by experiment arm (`ralm_ab_assignments_total`). */
  assignments: Counter<'arm'>;
}

export interface LookalikeScorerDeps {
  readonly config: LookalikeScorerConfig;
  readonly book: CandidateBook;
  /** The state replies are answered from; undefined until a model is loaded. */
  state(): ScoringState | undefined;
  readonly metrics: ScorerMetrics;
  /** Puts every scored user in an experiment arm. */
  readonly assigner: ArmAssigner;
  readonly seeds: SeedSource;
  /** Per-candidate exclusion lists, durable (the scorer's state store). */
  readonly exclusions: ExclusionStore;
}
