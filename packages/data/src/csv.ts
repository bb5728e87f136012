/**
 * The one streaming CSV reader of the data package: records with their 1-based
 * line numbers, handed to a synchronous callback that reports a bad row by
 * throwing `RowProblem`, which becomes a `DatasetError` naming file and line.
 */
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { asDatasetError, countNewlines, DatasetError } from './errors';

/** What is wrong with one input row; the reader adds the file and line. */
export class RowProblem {
  constructor(
    readonly reason: string,
    readonly column?: string,
  ) {}
}

/**
 * Calls `onRecord` for every non-blank CSV record of `path` (RFC 4180; a BOM
 * and CRLF line endings are accepted), the header included, with the line
 * where the record starts.
 * `options.name` is how errors name the file (default: `path`); `options.onBytes`
 * sees the raw bytes as they stream (the dataset reader hashes them).
 * @throws DatasetError(name, line) for a RowProblem, malformed quoting or a missing file
 */
export async function forEachCsvRecord(
  path: string,
  onRecord: (record: string[], line: number) => void,
  options: { name?: string; onBytes?: (chunk: Buffer) => void; open?: (file: string) => Promise<FileHandle> } = {},
): Promise<void> {
  const name = options.name ?? path;
  // csv-parse's `info` and `on_record` build an object per row and triple the
  // parse time, so lines are counted here: without skip_empty_lines every line
  // yields a record, and quoted line breaks are the only other newlines.
  let line = 1;
  const handle = (record: string[]) => {
    const start = line;
    for (const value of record) line += countNewlines(value);
    line++;
    if (record.length === 1 && record[0] === '') return;
    located(name, start, () => onRecord(record, start));
  };
  const parser = parse({ bom: true, relax_column_count: true });
  // A synchronous read loop, not for-await: per-row promises would cost more than the parsing.
  parser.on('readable', () => {
    try {
      for (let record: string[] | null; (record = parser.read() as string[] | null) !== null; ) handle(record);
    } catch (err) {
      parser.destroy(err as Error);
    }
  });
  try {
    const onBytes = options.onBytes;
    const source = options.open ? (await options.open(path)).createReadStream() : createReadStream(path);
    await (onBytes
      ? pipeline(
          source,
          async function* tap(source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              onBytes(chunk);
              yield chunk;
            }
          },
          parser,
        )
      : pipeline(source, parser));
  } catch (err) {
    throw asDatasetError(err, name);
  }
}

/** Runs `run`, turning a RowProblem into a DatasetError at `path`:`line`. */
export function located(path: string, line: number, run: () => void): void {
  try {
    run();
  } catch (err) {
    if (err instanceof RowProblem) throw new DatasetError(path, line, err.reason, err.column);
    throw err;
  }
}
