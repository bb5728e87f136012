import { InvalidArgumentError } from '@ralm/platform/errors';
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
  /**
   * How the seeds tower pools its clusters: the paper's local + global attention, or
   * the "RALM with average" competitor of section 6.2, which merges all seeds into one
   * size-weighted average and compares by a single cosine.
   */
  seedPooling: 'attention' | 'average';
  /** Phase-2 samples drawn per epoch (a fresh uniform sample each epoch); 0 = every sample. */
  phase2SamplesPerEpoch: number;
  /**
   * Phase-2 loss with a fixed per-item offset, logit(item click rate) − logit(click rate)
   * (smoothed), added to the logit: the score is then trained only on *which of an item's
   * exposed users click* — the look-alike question — instead of also on which items are
   * clicked more, which it cannot know for a new item (docs/MODEL.md). Ranking is unchanged.
   */
  phase2ItemOffset: boolean;
  /** Local and global attention weigh each seed cluster by its size as well (see LookalikeConfig). */
  clusterSizePrior: boolean;
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
  seedPooling: 'attention',
  phase2SamplesPerEpoch: 0,
  phase2ItemOffset: true,
  clusterSizePrior: true,
};

/** A training request's settings as the proto TrainingConfig and the CLI carry them: 0 means the default. */
export type TrainingConfigInput = Omit<ModelConfig, 'tower' | 'temperature' | 'hidden' | 'maxSeedsPerItem' | 'sampledNegatives' | 'seedPooling' | 'phase2SamplesPerEpoch' | 'phase2ItemOffset' | 'clusterSizePrior'> & {
  dataDir: string;
  tower: ModelConfig['tower'] | 'unspecified';
  /** 0 = learned. */
  temperature: number;
};

type IntKey = 'userDim' | 'lookalikeDim' | 'fieldDim' | 'attentionSize' | 'clusters' | 'phase1Epochs' | 'phase2Epochs' | 'batchSize' | 'negativesPerPositive' | 'maxPositivesPerUser';

/** Limits as documented in trainer.proto; the defaults are DEFAULT_MODEL_CONFIG's. */
const INTS: Record<IntKey, { field: string; max: number }> = {
  userDim: { field: 'user_dim', max: 1024 },
  lookalikeDim: { field: 'lookalike_dim', max: 1024 },
  fieldDim: { field: 'field_dim', max: 1024 },
  attentionSize: { field: 'attention_size', max: 1024 },
  clusters: { field: 'clusters', max: 1000 },
  phase1Epochs: { field: 'phase1_epochs', max: 1000 },
  phase2Epochs: { field: 'phase2_epochs', max: 1000 },
  batchSize: { field: 'batch_size', max: 65_536 },
  negativesPerPositive: { field: 'negatives_per_positive', max: 1000 },
  maxPositivesPerUser: { field: 'max_positives_per_user', max: 10_000 },
};

function positive(value: number, field: string, fallback: number, max = Infinity): number {
  if (value === 0) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new InvalidArgumentError(`config.${field}`, `must be 0 (default ${fallback}) or in (0, ${max}], got ${value}`);
  }
  return value;
}

/** Applies defaults and checks limits; the first bad field raises InvalidArgumentError naming it. */
export function resolveModelConfig(input: TrainingConfigInput, randomSeed: () => number): ModelConfig & { dataDir: string } {
  if (input.dataDir.trim() === '') throw new InvalidArgumentError('config.data_dir', 'is required');
  const ints = {} as Record<IntKey, number>;
  for (const [key, spec] of Object.entries(INTS) as Array<[IntKey, (typeof INTS)[IntKey]]>) {
    const value = input[key];
    const fallback = DEFAULT_MODEL_CONFIG[key];
    if (!Number.isInteger(value) || value < 0 || value > spec.max) {
      throw new InvalidArgumentError(`config.${spec.field}`, `must be 0 (default ${fallback}) or an integer in [1, ${spec.max}], got ${value}`);
    }
    ints[key] = value || fallback;
  }
  if (!Number.isSafeInteger(input.seed) || input.seed < 0) throw new InvalidArgumentError('config.seed', `must be a non-negative integer, got ${input.seed}`);
  return {
    ...DEFAULT_MODEL_CONFIG,
    ...ints,
    dataDir: input.dataDir,
    tower: input.tower === 'concatenation' ? 'concatenation' : 'attention_merge',
    learningRate: positive(input.learningRate, 'learning_rate', DEFAULT_MODEL_CONFIG.learningRate, 1),
    alpha: positive(input.alpha, 'alpha', DEFAULT_MODEL_CONFIG.alpha),
    beta: positive(input.beta, 'beta', DEFAULT_MODEL_CONFIG.beta),
    temperature: input.temperature === 0 ? undefined : positive(input.temperature, 'temperature', 0),
    seed: input.seed || randomSeed(),
    validationFraction: positive(input.validationFraction, 'validation_fraction', DEFAULT_MODEL_CONFIG.validationFraction, 0.5),
  };
}
