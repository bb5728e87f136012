import { UserTower, type TrainingConfig as TrainingConfigProto } from '@ralm/proto/trainer';
import type { TrainingConfigInput } from '@ralm/model';
import { InvalidArgumentError, overBytes, requireEnum } from '@ralm/platform';

/** A path longer than this is no path a filesystem takes (PATH_MAX). */
const MAX_DATA_DIR_BYTES = 4096;

export function fromTrainingConfigProto(config: TrainingConfigProto | undefined): TrainingConfigInput {
  const c = config ?? ({} as Partial<TrainingConfigProto>);
  if (c.tower !== undefined) requireEnum(c.tower, UserTower, 'config.tower');
  if (c.dataDir !== undefined && overBytes(c.dataDir, MAX_DATA_DIR_BYTES)) throw new InvalidArgumentError('config.data_dir', `is longer than ${MAX_DATA_DIR_BYTES} bytes`);
  const tower =
    c.tower === UserTower.USER_TOWER_CONCATENATION ? 'concatenation' : c.tower === UserTower.USER_TOWER_ATTENTION_MERGE ? 'attention_merge' : 'unspecified';
  return {
    dataDir: c.dataDir ?? '',
    tower,
    userDim: c.userDim ?? 0,
    lookalikeDim: c.lookalikeDim ?? 0,
    fieldDim: c.fieldDim ?? 0,
    attentionSize: c.attentionSize ?? 0,
    clusters: c.clusters ?? 0,
    phase1Epochs: c.phase1Epochs ?? 0,
    phase2Epochs: c.phase2Epochs ?? 0,
    batchSize: c.batchSize ?? 0,
    learningRate: c.learningRate ?? 0,
    negativesPerPositive: c.negativesPerPositive ?? 0,
    maxPositivesPerUser: c.maxPositivesPerUser ?? 0,
    alpha: c.alpha ?? 0,
    beta: c.beta ?? 0,
    temperature: c.temperature ?? 0,
    seed: c.seed ?? 0,
    validationFraction: c.validationFraction ?? 0,
  };
}
