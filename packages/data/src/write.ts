import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { DATASET_FILES, combineFingerprint, type DatasetFile } from './format';
import { fileChunks } from './serialize';
import type { Dataset } from './types';

/**
 * Writes `dataset` to `dir` (created if missing) as `schema.json`, `users.csv`,
 * `items.csv` and `events.csv`, quoting CSV values only where needed, so that
 * `readDataset(dir)` gives the same dataset back.
 *
 * Each file goes to a temporary name first and is renamed into place once
 * complete, so a crash never leaves a truncated file under the real name.
 * `dataset.fingerprint` is ignored; the fingerprint of what was written is
 * returned (equal to `fingerprintOf(dataset)`).
 *
 * @throws DatasetError when the data could not be read back (duplicate or empty
 *   ids, a list value holding `|`, an infinite number, an index out of range…),
 *   naming the file and the line the row would have had.
 */
export async function writeDataset(dir: string, dataset: Dataset): Promise<string> {
  await mkdir(dir, { recursive: true });
  const digests = {} as Record<DatasetFile, string>;
  for (const file of DATASET_FILES) digests[file] = await writeFile(join(dir, file), fileChunks(dataset, file));
  return combineFingerprint(digests);
}

async function writeFile(path: string, chunks: Iterable<string>): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}`;
  const hash = createHash('sha256');
  const out = createWriteStream(tmp);
  try {
    for (const chunk of chunks) {
      hash.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, path);
  return hash.digest('hex');
}
