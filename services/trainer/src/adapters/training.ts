import fs from 'node:fs/promises';
import { readDataset } from '@ralm/data';
import { assignVersion, loadCheckpoint, runKey, saveCheckpoint, saveModel, train } from '@ralm/model';
import type { TrainingPort } from '../job-runner';

/** The real thing: the model package and the local file system. */
export const modelPackageTraining: TrainingPort = {
  readDataset,
  train,
  assignVersion,
  saveModel,
  saveCheckpoint,
  loadCheckpoint,
  runKey,
  removeDir: (dir) => fs.rm(dir, { recursive: true, force: true }),
};
