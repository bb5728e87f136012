import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from './config';
import type { FeatureSchema } from './features';
import { RalmModel } from './model';

export const MODEL_FORMAT = 'ralm-model/1';

/** A model directory that is missing, truncated, corrupted or of another format. */
export class ModelArtifactError extends Error {
  constructor(readonly dir: string, reason: string) {
    super(`model at ${dir} refused: ${reason}`);
    this.name = 'ModelArtifactError';
  }
}

const fileEntry = z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

const manifestSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.string().min(1),
  createdAtMs: z.number().int().nonnegative(),
  userDim: z.number().int().positive(),
  lookalikeDim: z.number().int().positive(),
  tower: z.enum(['attention_merge', 'concatenation']),
  alpha: z.number(),
  beta: z.number(),
  temperature: z.number(),
  dataFingerprint: z.string(),
  jobId: z.string(),
  metrics: z.record(z.string(), z.number()),
  config: z.record(z.string(), z.unknown()),
  fields: z.array(z.object({ name: z.string(), kind: z.enum(['univalent', 'multivalent', 'continuous']), vocabulary: z.number().int(), min: z.number(), max: z.number() })),
  itemCount: z.number().int().nonnegative(),
  userCount: z.number().int().nonnegative(),
  weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() })),
  files: z.object({ 'weights.bin': fileEntry, 'vocab.json': fileEntry, 'users.json': fileEntry, 'universal.f32': fileEntry, 'lookalike.f32': fileEntry }),
});

export type Manifest = z.infer<typeof manifestSchema>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A stable JSON form of the metrics: JSON has no NaN, so undefined metrics are left out. */
function finiteMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

/**
 * Writes a model directory atomically: everything goes to a temporary sibling
 * that is renamed into place, so a reader never sees half a model and a failed
 * save leaves the previous one untouched. Float data is little-endian float32.
 */
function packWeights(model: RalmModel): { weights: Manifest['weights']; data: Float32Array } {
  const weights: Manifest['weights'] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const params of model.allParams()) {
    for (const [name, w] of params.read()) {
      weights.push({ name, shape: w.shape, offset });
      chunks.push(w.values);
      offset += w.values.length;
    }
  }
  const data = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { weights, data };
}

/**
 * The model's version, assigned once: its creation time and the hash of its
 * weights (`20261128T153000-1a2b3c4d`), so equal weights give equal versions.
 */
export function assignVersion(model: RalmModel): string {
  if (!model.info.version) {
    const createdAtMs = model.info.createdAtMs || Date.now();
    const hash = sha256(bytesOf(packWeights(model).data)).slice(0, 8);
    model.info = { ...model.info, createdAtMs, version: `${new Date(createdAtMs).toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${hash}` };
  }
  return model.info.version;
}

export async function saveModel(model: RalmModel, dir: string): Promise<Manifest> {
  const { weights, data: weightsBin } = packWeights(model);
  const files: Record<string, Uint8Array> = {
    'weights.bin': bytesOf(weightsBin),
    'vocab.json': Buffer.from(JSON.stringify({ fields: model.schema.fields.map((f) => ({ name: f.name, ids: f.ids })), items: model.itemIds })),
    'users.json': Buffer.from(JSON.stringify(model.store.userIds)),
    'universal.f32': bytesOf(model.store.universal),
    'lookalike.f32': bytesOf(model.store.lookalike),
  };
  const version = assignVersion(model);
  const createdAtMs = model.info.createdAtMs;
  const c = model.config;
  const manifest: Manifest = {
    format: MODEL_FORMAT,
    version,
    createdAtMs,
    userDim: c.userDim,
    lookalikeDim: c.lookalikeDim,
    tower: c.tower,
    alpha: c.alpha,
    beta: c.beta,
    temperature: model.info.temperature,
    dataFingerprint: model.info.dataFingerprint,
    jobId: model.info.jobId,
    metrics: finiteMetrics(model.info.metrics),
    config: { ...c, temperature: c.temperature ?? null },
    fields: model.schema.fields.map((f) => ({ name: f.name, kind: f.kind, vocabulary: f.ids.length, min: f.min, max: f.max })),
    itemCount: model.itemIds.length,
    userCount: model.store.userIds.length,
    weights,
    files: Object.fromEntries(Object.entries(files).map(([name, b]) => [name, { bytes: b.byteLength, sha256: sha256(b) }])) as Manifest['files'],
  };

  const target = path.resolve(dir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = `${target}.tmp-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(staging);
  try {
    for (const [name, bytes] of Object.entries(files)) await fs.writeFile(path.join(staging, name), bytes);
    await fs.writeFile(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(staging, target);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

async function readChecked(dir: string, name: keyof Manifest['files'], expected: { bytes: number; sha256: string }): Promise<Buffer> {
  let bytes: Buffer;
  try {
    // A file of the model is the model's own: a symlink could lead out of MODEL_ROOT.
    if (!(await fs.lstat(path.join(dir, name))).isFile()) throw new ModelArtifactError(dir, `${name} is not a regular file (a symlink or a directory): refused`);
    bytes = await fs.readFile(path.join(dir, name));
  } catch (err) {
    if (err instanceof ModelArtifactError) throw err;
    throw new ModelArtifactError(dir, `${name} is unreadable (${(err as Error).message})`);
  }
  if (bytes.byteLength !== expected.bytes) throw new ModelArtifactError(dir, `${name} has ${bytes.byteLength} bytes, the manifest says ${expected.bytes} (truncated or replaced)`);
  if (sha256(bytes) !== expected.sha256) throw new ModelArtifactError(dir, `${name} does not match its sha256 checksum (corrupted)`);
  return bytes;
}

function floats(bytes: Buffer): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

export async function readManifest(dir: string): Promise<Manifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
  } catch (err) {
    throw new ModelArtifactError(dir, `manifest.json is missing or not JSON (${(err as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelArtifactError(dir, `manifest.json ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Loads and verifies a model directory: every file's size and checksum, every weight's shape. */
export async function loadModel(dir: string): Promise<RalmModel> {
  const manifest = await readManifest(dir);
  const [weightsBytes, vocabBytes, usersBytes, universalBytes, lookalikeBytes] = await Promise.all([
    readChecked(dir, 'weights.bin', manifest.files['weights.bin']),
    readChecked(dir, 'vocab.json', manifest.files['vocab.json']),
    readChecked(dir, 'users.json', manifest.files['users.json']),
    readChecked(dir, 'universal.f32', manifest.files['universal.f32']),
    readChecked(dir, 'lookalike.f32', manifest.files['lookalike.f32']),
  ]);
  const vocab = JSON.parse(vocabBytes.toString('utf8')) as { fields: Array<{ name: string; ids: string[] }>; items: string[] };
  const schema: FeatureSchema = {
    fields: manifest.fields.map((f, i) => ({ name: f.name, kind: f.kind, ids: vocab.fields[i]!.ids, min: f.min, max: f.max })),
  };
  const config: ModelConfig = { ...DEFAULT_MODEL_CONFIG, ...(manifest.config as Partial<ModelConfig>) };
  if ((manifest.config as { temperature?: unknown }).temperature === null) config.temperature = undefined;
  const userIds = JSON.parse(usersBytes.toString('utf8')) as string[];
  const store = { userIds, universal: floats(universalBytes), lookalike: floats(lookalikeBytes) };
  if (store.universal.length !== userIds.length * manifest.userDim || store.lookalike.length !== userIds.length * manifest.lookalikeDim) {
    throw new ModelArtifactError(dir, 'embedding files do not match the user count and dimensions');
  }
  const model = new RalmModel(config, schema, vocab.items, {
    version: manifest.version,
    createdAtMs: manifest.createdAtMs,
    dataFingerprint: manifest.dataFingerprint,
    jobId: manifest.jobId,
    metrics: manifest.metrics,
    temperature: manifest.temperature,
  }, store);
  const all = floats(weightsBytes);
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const w of manifest.weights) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (w.offset + size > all.length) throw new ModelArtifactError(dir, `weight ${w.name} runs past the end of weights.bin`);
    weights.set(w.name, { shape: w.shape, values: all.subarray(w.offset, w.offset + size) });
  }
  try {
    for (const p of model.allParams()) p.write(weights);
  } catch (err) {
    model.dispose();
    throw new ModelArtifactError(dir, (err as Error).message);
  }
  return model;
}
