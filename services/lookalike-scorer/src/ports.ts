import type { Counter, Histogram } from 'prom-client';
import type { ArmAssigner } from '@ralm/experiment';
import type { GetClustersResponse } from '@ralm/proto/clusterer';
import type { LookalikeScorerConfig } from './config';
import type { CandidateBook } from './domain/candidate-book';
import type { ScoringState } from './scoring-state';

/** Where a candidate's latest clusters come from (ClustererService.GetClusters). */
export interface ClusterSource {
  /** The latest clusters, or undefined when the candidate has none (NOT_FOUND / FAILED_PRECONDITION). */
  get(candidateId: string): Promise<GetClustersResponse | undefined>;
}

export interface ScorerMetrics {
  /** Candidates scored, by servable or not. */
  candidates: Counter<'servable'>;
  /** Users per kernel call (the batcher's batch size). */
  batchUsers: Histogram<string>;
  /** Candidate precomputations by outcome (loaded, stale, failed). */
  loads: Counter<'outcome'>;
  /** Score replies by experiment arm (`ralm_ab_assignments_total`). */
  assignments: Counter<'arm'>;
}

export interface LookalikeScorerDeps {
  readonly config: LookalikeScorerConfig;
  readonly book: CandidateBook;
  /** The state of the current model; undefined until one is loaded. */
  state(): ScoringState | undefined;
  readonly metrics: ScorerMetrics;
  /** Puts every scored user in an experiment arm. */
  readonly assigner: ArmAssigner;
}
