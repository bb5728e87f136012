import type { TowerKind } from './user-tower';

/** Everything that shapes a training run. Defaults follow the paper (section 6.1) where it gives one. */
export interface ModelConfig {
  tower: TowerKind;
  /** d */
  userDim: number;
  /** h */
  lookalikeDim: number;
  /** m */
  fieldDim: number;
  /** a, for the merge layer and the global attention */
  attentionSize: number;
  /** Hidden ReLU layers of the user MLP. */
  hidden: number[];
  /** k */
  clusters: number;
  phase1Epochs: number;
  phase2Epochs: number;
  batchSize: number;
  learningRate: number;
  negativesPerPositive: number;
  maxPositivesPerUser: number;
  alpha: number;
  beta: number;
  /** undefined = learned */
  temperature: number | undefined;
  seed: number;
  validationFraction: number;
  /** Seeds per item clustered during training (a uniform sample when there are more). */
  maxSeedsPerItem: number;
  /** Phase-2 negatives per positive sampled from random users when the data has no exposures. */
  sampledNegatives: number;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  tower: 'attention_merge',
  userDim: 128,
  lookalikeDim: 128,
  fieldDim: 32,
  attentionSize: 64,
  hidden: [256],
  clusters: 20,
  phase1Epochs: 10,
  phase2Epochs: 10,
  batchSize: 256,
  learningRate: 0.001,
  negativesPerPositive: 10,
  maxPositivesPerUser: 50,
  alpha: 0.3,
  beta: 0.7,
  temperature: undefined,
  seed: 1,
  validationFraction: 0.1,
  maxSeedsPerItem: 1000,
  sampledNegatives: 1,
};
