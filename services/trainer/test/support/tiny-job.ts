import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { synthesizeToDir } from '@ralm/data';

/**
 * TRAINING_JOB_CONFIG of a model small enough to train in about a second on one core:
 * two phase-1 epochs, so an interruption after the first leaves a checkpoint to resume.
 */
export const TINY_JOB_CONFIG = JSON.stringify({
  userDim: 16,
  lookalikeDim: 16,
  fieldDim: 8,
  attentionSize: 8,
  clusters: 3,
  phase1Epochs: 2,
  phase2Epochs: 1,
  batchSize: 64,
});

/** A temporary folder holding a small synthetic dataset under `data/`; `remove` deletes it all. */
export async function tinyDatasetRoot(prefix: string): Promise<{ root: string; dataDir: string; remove(): Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  const dataDir = path.join(root, 'data');
  await synthesizeToDir({ users: 300, items: 40, seed: 4 }, dataDir);
  return { root, dataDir, remove: () => fs.rm(root, { recursive: true, force: true }) };
}
