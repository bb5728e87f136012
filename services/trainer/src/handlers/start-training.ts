import type { StartTrainingRequest, StartTrainingResponse } from '@ralm/proto/trainer';
import { resolveModelConfig } from '@ralm/model';
import { FailedPreconditionError } from '@ralm/platform';
import { fromTrainingConfigProto } from '../mapping';
import type { TrainerDeps } from '../ports';

export async function startTraining(request: StartTrainingRequest, deps: TrainerDeps): Promise<StartTrainingResponse> {
  const config = resolveModelConfig(fromTrainingConfigProto(request.config), () => 1 + Math.floor(Math.random() * 2 ** 31));
  if (!(await deps.dataDirExists(config.dataDir))) {
    throw new FailedPreconditionError(`config.data_dir '${config.dataDir}' does not exist or is not readable on the trainer`);
  }
  return { job: deps.submit(config) };
}
