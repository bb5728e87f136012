import type { FieldKind } from '@ralm/data';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError } from '@ralm/platform/errors';
import { realPathWithin } from '@ralm/platform/security/confine';
import { loadModel, readManifest } from './artifacts';
import type { RawFeatures } from './features';
import type { RalmModel } from './model';

/** What the serving services need of a published model: the embedding store, the towers, and α, β. */
export interface ServingModel {
  readonly version: string;
  /** d: length of universal embeddings. */
  readonly userDim: number;
  /** h: length of look-alike embeddings. */
  readonly lookalikeDim: number;
  readonly alpha: number;
  readonly beta: number;
  /** Seed pooling the model was trained with (`average` is the RALM-avg variant). */
  readonly average: boolean;
  /** Row of each known user in the embedding matrices. */
  readonly rows: ReadonlyMap<string, number>;
  /** N × d, row-major. */
  readonly universal: Float32Array;
  /** N × h, row-major: e_u = T(u). */
  readonly lookalike: Float32Array;
  /** Schema fields the feature tower knows, with how it reads each (one id, a set of ids, a number). */
  readonly fields: ReadonlyMap<string, FieldKind>;
  /** The full model (towers and look-alike weights), for embedding new users and precomputing candidates. */
  readonly model: RalmModel;
}

/** Loads and verifies a model directory (checksums included) for serving. */
export async function loadServingModel(dir: string): Promise<ServingModel> {
  const model = await loadModel(dir);
  const { userIds, universal, lookalike } = model.store;
  const rows = new Map<string, number>();
  userIds.forEach((id, i) => rows.set(id, i));
  const c = model.config;
  return {
    version: model.info.version,
    userDim: c.userDim,
    lookalikeDim: c.lookalikeDim,
    alpha: c.alpha,
    beta: c.beta,
    average: c.seedPooling === 'average',
    rows,
    universal,
    lookalike,
    fields: new Map(model.schema.fields.map((f) => [f.name, f.kind])),
    model,
  };
}

/** Embeddings of users described by raw features (users the store never saw). */
export function embedRawFeatures(serving: ServingModel, users: RawFeatures[]): { universal: Float32Array; lookalike: Float32Array } {
  return serving.model.embedFeatures(users);
}

/**
 * The newest model under `root` by manifest creation time, or undefined when
 * there is none. Folders that are not models (half-written temporaries) are skipped.
 */
export async function newestModelDir(root: string): Promise<string | undefined> {
  const entries = await fs.readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  let best: { dir: string; createdAtMs: number } | undefined;
  for (const entry of entries) {
    const dir = path.join(root, entry);
    const manifest = await readManifest(dir).catch(() => undefined);
    if (manifest && (!best || manifest.createdAtMs > best.createdAtMs)) best = { dir, createdAtMs: manifest.createdAtMs };
  }
  return best?.dir;
}

/** A model's directory from its published artifact URI (`file://…` or a plain path). */
export function artifactDir(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}

/**
 * The directory of a published artifact, if it is a model directory directly under
 * `root` once every symlink is resolved; otherwise the load is refused. A
 * `model.published` event is only a pointer: without this, one naming any readable
 * directory (`/tmp/evil`, `<root>/../x`, a symlink out) was loaded and served.
 */
export async function modelDirWithin(root: string, location: string): Promise<string> {
  const dir = artifactDir(location);
  const found = await realPathWithin(root, dir).catch((err: NodeJS.ErrnoException) => {
    throw new FailedPreconditionError(`model artifact '${dir}' cannot be read (${err.code ?? err.message})`);
  });
  const rel = found.relative;
  if (rel === undefined || rel === '' || rel.includes(path.sep)) {
    throw new FailedPreconditionError(`model artifact '${dir}' is not a model directory directly under MODEL_ROOT '${root}' (it resolves to '${found.real}'): refused`);
  }
  return found.real;
}

/**
 * How a serving service finds its models under MODEL_ROOT: the newest at start, a pinned
 * version by name, a published one by its artifact URI. The `load`/`initial`/`locate`
 * of a model slot, spelled once for every service that serves the model.
 */
export function modelRootSource(root: string): { load(location: string): Promise<ServingModel>; initial(): Promise<string | undefined>; locate(version: string): string } {
  return {
    // Confined to the root: the newest and pinned ones are found there, a published one must be there.
    load: async (location) => loadServingModel(await modelDirWithin(root, location)),
    initial: () => newestModelDir(root),
    locate: (version) => path.join(root, version),
  };
}
