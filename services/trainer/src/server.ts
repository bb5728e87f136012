import { TrainerServiceService } from '@ralm/proto/trainer';
import { bindService, type ServiceBinding } from '@ralm/platform';
import { getJob } from './handlers/get-job';
import { listModels } from './handlers/list-models';
import { startTraining } from './handlers/start-training';
import { watchJob } from './handlers/watch-job';
import type { TrainerDeps } from './ports';

export const TRAINER_PROTO = 'ralm/v1/trainer.proto';

export function trainerBinding(deps: TrainerDeps): ServiceBinding {
  return bindService('ralm.v1.TrainerService', TrainerServiceService, {
    startTraining: (req) => startTraining(req, deps),
    getJob: (req) => getJob(req, deps),
    watchJob: (req, ctx, send) => watchJob(req, deps, ctx, send),
    listModels: (req) => listModels(req, deps),
  }) as ServiceBinding;
}
