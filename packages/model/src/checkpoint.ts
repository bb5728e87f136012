import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelConfig } from './config';
import type { Checkpoint, Phase } from './train';

type Named = Map<string, { shape: number[]; values: Float32Array }>;

interface State {
  /** What the checkpoint belongs to: resuming with other data or settings would mix two runs. */
  key: string;
  phase: Phase;
  epochsDone: number;
  validationAuc: Record<Phase, number | null>;
  weights: Array<{ name: string; shape: number[]; offset: number }>;
  optimizer: Array<{ name: string; shape: number[]; offset: number }>;
  hasUniversal: boolean;
  /** Phase 2's best weights so far (in best.bin) and their validation AUC. */
  best?: { epoch: number; auc: number; weights: Array<{ name: string; shape: number[]; offset: number }> };
  phase2StartAuc?: number;
}

/** Identifies a run: the data fingerprint and every setting that changes what is learned. */
export function runKey(dataFingerprint: string, config: ModelConfig): string {
  return createHash('sha256').update(JSON.stringify({ dataFingerprint, config })).digest('hex');
}

function pack(named: Named): { index: State['weights']; data: Float32Array } {
  const index: State['weights'] = [];
  let size = 0;
  for (const [name, w] of named) {
    index.push({ name, shape: w.shape, offset: size });
    size += w.values.length;
  }
  const data = new Float32Array(size);
  index.forEach((e) => data.set(named.get(e.name)!.values, e.offset));
  return { index, data };
}

function unpack(index: State['weights'], data: Float32Array): Named {
  return new Map(index.map((e) => [e.name, { shape: e.shape, values: data.subarray(e.offset, e.offset + e.shape.reduce((a, b) => a * b, 1)) }]));
}

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function readFloats(file: string): Promise<Float32Array> {
  const buf = await fs.readFile(file);
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Float32Array(copy.buffer);
}

/** Replaces the checkpoint in `dir` atomically (write aside, then rename). */
export async function saveCheckpoint(dir: string, key: string, checkpoint: Checkpoint): Promise<void> {
  const weights = pack(checkpoint.weights);
  const optimizer = pack(checkpoint.optimizer);
  const best = checkpoint.best && pack(checkpoint.best.weights);
  const state: State = {
    key,
    phase: checkpoint.phase,
    epochsDone: checkpoint.epochsDone,
    validationAuc: Object.fromEntries(Object.entries(checkpoint.validationAuc).map(([k, v]) => [k, Number.isFinite(v) ? v : null])) as State['validationAuc'],
    weights: weights.index,
    optimizer: optimizer.index,
    hasUniversal: checkpoint.universal !== undefined,
    best: checkpoint.best && best && { epoch: checkpoint.best.epoch, auc: checkpoint.best.auc, weights: best.index },
    phase2StartAuc: checkpoint.phase2StartAuc,
  };
  const target = path.resolve(dir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = `${target}.tmp-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(staging);
  await fs.writeFile(path.join(staging, 'weights.bin'), bytes(weights.data));
  await fs.writeFile(path.join(staging, 'optimizer.bin'), bytes(optimizer.data));
  if (checkpoint.universal) await fs.writeFile(path.join(staging, 'universal.f32'), bytes(checkpoint.universal));
  if (best) await fs.writeFile(path.join(staging, 'best.bin'), bytes(best.data));
  // state.json last: its presence marks a complete checkpoint.
  await fs.writeFile(path.join(staging, 'state.json'), JSON.stringify(state));
  await fs.rm(target, { recursive: true, force: true });
  await fs.rename(staging, target);
}

/** The checkpoint in `dir` if there is a complete one for this run (`key`), else undefined. */
export async function loadCheckpoint(dir: string, key: string): Promise<Checkpoint | undefined> {
  let state: State;
  try {
    state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as State;
  } catch {
    return undefined;
  }
  if (state.key !== key) return undefined;
  const nan = (v: number | null) => (v === null ? Number.NaN : v);
  return {
    phase: state.phase,
    epochsDone: state.epochsDone,
    weights: unpack(state.weights, await readFloats(path.join(dir, 'weights.bin'))),
    optimizer: unpack(state.optimizer, await readFloats(path.join(dir, 'optimizer.bin'))),
    universal: state.hasUniversal ? await readFloats(path.join(dir, 'universal.f32')) : undefined,
    validationAuc: { user_representation: nan(state.validationAuc.user_representation), lookalike: nan(state.validationAuc.lookalike) },
    best: state.best && { epoch: state.best.epoch, auc: state.best.auc, weights: unpack(state.best.weights, await readFloats(path.join(dir, 'best.bin'))) },
    phase2StartAuc: state.phase2StartAuc,
  };
}
