/**
 * Importers of public datasets into the RALM format (docs/DATA.md, "Importers").
 */
import { writeDataset } from '../write';
import type { Dataset } from '../types';
import { buildMovieLens, type MovieLensOptions } from './movielens';
import { buildTencentLookalike } from './tencent';

export { importMovieLens, MOVIELENS_SCHEMA, type MovieLensOptions } from './movielens';
export { importTencentLookalike } from './tencent';

/** The layouts `importToDir` reads: MovieLens (any of its layouts) or the Tencent 2018 look-alike competition. */
export type ImportKind = 'movielens' | 'tencent';
export const IMPORT_KINDS: readonly ImportKind[] = ['movielens', 'tencent'];

/** What `importToDir` wrote, for a CLI to print. */
export interface ImportSummary {
  /** The written dataset's fingerprint (`sha256:…`, as `readDataset` reports it). */
  fingerprint: string;
  users: number;
  items: number;
  events: number;
  /** Events with label 1. */
  positives: number;
}

/**
 * Imports `input` (a MovieLens file or folder, or a Tencent competition
 * folder) and writes the dataset to `outDir` with `writeDataset`.
 * @param options MovieLens settings (`readThreshold`, `historyLength`); the Tencent import has none
 * @throws DatasetError for malformed input, naming the input file and line
 * @throws RangeError for an unknown kind or an option out of range
 */
export async function importToDir(
  kind: ImportKind,
  input: string,
  outDir: string,
  options: Omit<MovieLensOptions, 'input'> = {},
): Promise<ImportSummary> {
  let dataset: Dataset;
  if (kind === 'movielens') dataset = await buildMovieLens({ ...options, input });
  else if (kind === 'tencent') dataset = await buildTencentLookalike(input);
  else throw new RangeError(`unknown import kind ${JSON.stringify(kind)}; expected ${IMPORT_KINDS.join(' or ')}`);
  const fingerprint = await writeDataset(outDir, dataset);
  let positives = 0;
  for (const l of dataset.events.label) positives += l;
  return { fingerprint, users: dataset.users.ids.length, items: dataset.items.ids.length, events: dataset.events.label.length, positives };
}
