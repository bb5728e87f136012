import path from 'node:path';
import { synthesize, type Dataset } from '@ralm/data';
import { assignVersion, DEFAULT_MODEL_CONFIG, saveModel, selectBackend, train, type ModelConfig } from '@ralm/model';

/** A model small enough to train in seconds: the real code path, not a stand-in. */
export const TINY_MODEL: ModelConfig = {
  ...DEFAULT_MODEL_CONFIG,
  userDim: 16,
  lookalikeDim: 16,
  fieldDim: 8,
  attentionSize: 8,
  hidden: [32],
  clusters: 3,
  phase1Epochs: 1,
  phase2Epochs: 1,
  batchSize: 128,
  seed: 5,
};

/**
 * Small but trained enough that look-alike embeddings separate interest groups
 * (the tiny one collapses most users to the zero vector after the ReLU).
 */
export const LOOKALIKE_MODEL: ModelConfig = {
  ...DEFAULT_MODEL_CONFIG,
  userDim: 32,
  lookalikeDim: 32,
  fieldDim: 16,
  attentionSize: 16,
  hidden: [64],
  clusters: 5,
  phase1Epochs: 3,
  phase2Epochs: 2,
  batchSize: 128,
  learningRate: 0.005,
  seed: 3,
};

/** Trains a tiny model on synthetic users and saves it as `<modelRoot>/<version>`, where the services look for it. */
export async function trainTinyModel(modelRoot: string, users = 600, config: ModelConfig = TINY_MODEL): Promise<{ version: string; dataset: Dataset; userIds: string[] }> {
  await selectBackend();
  const dataset = synthesize({ users, items: 60, seed: 21 });
  const model = await train(dataset, config);
  const manifest = await saveModel(model, path.join(modelRoot, assignVersion(model)));
  const userIds = [...model.store.userIds];
  model.dispose();
  return { version: manifest.version, dataset, userIds };
}


export { featuresOf } from '@ralm/mesh';
