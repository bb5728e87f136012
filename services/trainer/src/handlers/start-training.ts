import type { StartTrainingRequest, StartTrainingResponse } from '@ralm/proto/trainer';
import { resolveModelConfig } from '@ralm/model';
import { fromTrainingConfigProto } from '../mapping';
import type { TrainerDeps } from '../ports';

export async function startTraining(request: StartTrainingRequest, deps: TrainerDeps): Promise<StartTrainingResponse> {
  const config = resolveModelConfig(fromTrainingConfigProto(request.config), () => 1 + Math.floor(Math.random() * 2 ** 31));
  const dataDir = await deps.resolveDataDir(config.dataDir);
  return { job: deps.submit({ ...config, dataDir }, { dataRoot: deps.config.TRAINING_DATA_ROOT }) };
}
