import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, readManifest } from '@ralm/model';
import type { Logger } from '@ralm/platform';
import type { LoadedModel } from '../ports';

/** Loads and verifies a model directory (checksums included) into what the handlers serve. */
export async function loadServingModel(dir: string): Promise<LoadedModel> {
  const model = await loadModel(dir);
  const { userIds, universal, lookalike } = model.store;
  const rows = new Map<string, number>();
  userIds.forEach((id, i) => rows.set(id, i));
  // The tfjs weights are not needed to look embeddings up; free them until EmbedFeatures uses them.
  model.dispose();
  return { version: model.info.version, userDim: model.config.userDim, lookalikeDim: model.config.lookalikeDim, rows, universal, lookalike };
}

/** The newest model under `root` by manifest creation time, or undefined when there is none. */
export async function newestModelDir(root: string, logger: Logger): Promise<string | undefined> {
  const entries = await fs.readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  let best: { dir: string; createdAtMs: number } | undefined;
  for (const entry of entries) {
    const dir = path.join(root, entry);
    try {
      const manifest = await readManifest(dir);
      if (!best || manifest.createdAtMs > best.createdAtMs) best = { dir, createdAtMs: manifest.createdAtMs };
    } catch (err) {
      // Half-written temporaries and foreign folders live here too: skip, never fail the start.
      logger.debug({ dir, err: (err as Error).message }, 'not a model directory; skipped');
    }
  }
  return best?.dir;
}

/** A model's directory from its published artifact URI (`file://…` or a plain path). */
export function artifactDir(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
}
