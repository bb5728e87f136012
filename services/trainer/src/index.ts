export { createTrainer, type TrainerModule } from './module';
export { loadTrainerConfig, type TrainerConfig } from './config';
