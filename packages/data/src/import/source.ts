/**
 * Streaming readers for the importers' input files: CSV records or raw lines,
 * each with its 1-based line number, handed to a synchronous callback (a
 * promise per row would cost more than the parsing). A callback throws
 * `RowProblem`; the reader turns it into a `DatasetError` naming the file and
 * line, so every importer reports bad input the way `readDataset` does.
 */
import { createReadStream } from 'node:fs';
import { asDatasetError } from '../errors';
import { located, RowProblem } from '../csv';

export { forEachCsvRecord, RowProblem } from '../csv';
import { DECIMAL } from '../format';

/**
 * Calls `onLine` for every non-blank line of `path`, without its line ending
 * (LF or CRLF) or a leading BOM. A line that is not valid UTF-8 is decoded as
 * Latin-1, the encoding GroupLens used for ml-1m's `.dat` files.
 * @throws DatasetError(path, line) for a RowProblem or a missing file
 */
export async function forEachLine(path: string, onLine: (text: string, line: number) => void): Promise<void> {
  let line = 0;
  let rest: Buffer | undefined;
  const emit = (bytes: Buffer) => {
    line++;
    let text = decode(bytes);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    const at = line;
    located(path, at, () => onLine(text, at));
  };
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
      let start = 0;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
        emit(buf.subarray(start, nl));
        start = nl + 1;
      }
      rest = start < buf.length ? buf.subarray(start) : undefined;
    }
    if (rest !== undefined) emit(rest);
  } catch (err) {
    throw asDatasetError(err, path);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  // U+FFFD marks a decoding failure, or a real U+FFFD: only the strict decoder can tell.
  if (!text.includes('\uFFFD')) return text;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}



/**
 * Maps required column names to their positions in a header row. Columns
 * named in `optional` may be absent; any other column is ignored (R's
 * `write.csv` adds an unnamed row-number column, for one).
 */
export function headerPositions(
  header: readonly string[],
  required: readonly string[],
  optional: readonly string[] = [],
): Map<string, number> {
  const positions = new Map<string, number>();
  header.forEach((name, i) => {
    if (!required.includes(name) && !optional.includes(name)) return;
    if (positions.has(name)) throw new RowProblem(`duplicate column ${JSON.stringify(name)}`, name);
    positions.set(name, i);
  });
  const missing = required.filter((name) => !positions.has(name));
  if (missing.length > 0) {
    throw new RowProblem(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; expected ${required.join(',')}`);
  }
  return positions;
}

/**
 * Adapts a per-row callback to `forEachCsvRecord`: the first record is the
 * header (required columns by name, others ignored), each later record must
 * have the header's length, and `get(column)` reads a value by column name
 * ('' for an optional column the header lacks). `onHeader` sees the header.
 */
export function csvRows(
  required: readonly string[],
  onRow: (get: (column: string) => string, line: number) => void,
  optional: readonly string[] = [],
  onHeader: (header: string[]) => void = () => undefined,
): (record: string[], line: number) => void {
  let width = -1;
  let positions = new Map<string, number>();
  return (record, line) => {
    if (width === -1) {
      positions = headerPositions(record, required, optional);
      width = record.length;
      onHeader(record);
      return;
    }
    if (record.length !== width) throw new RowProblem(`expected ${width} columns, got ${record.length}`);
    onRow((column) => {
      const at = positions.get(column);
      return at === undefined ? '' : record[at]!;
    }, line);
  };
}

/** A finite decimal number, or a RowProblem naming the column. */
export function parseNumber(raw: string, column: string): number {
  const v = Number(raw);
  if (!DECIMAL.test(raw) || !Number.isFinite(v)) throw new RowProblem(`${JSON.stringify(raw)} is not a number`, column);
  return v;
}

/** Unix seconds: a non-negative integer (R may write one as `1.26e+09`). */
export function parseTimestamp(raw: string, column: string): number {
  const v = parseNumber(raw, column);
  if (!Number.isSafeInteger(v) || v < 0) throw new RowProblem(`timestamp ${JSON.stringify(raw)} is not a non-negative integer`, column);
  return v;
}

/** An id made of digits only, as MovieLens and the Tencent data use. */
export function parseId(raw: string, column: string): string {
  if (!/^\d+$/.test(raw)) throw new RowProblem(`id ${JSON.stringify(raw)} is not a non-negative integer`, column);
  return raw;
}

/** Keeps one copy of each distinct string: a million rows share a few thousand values. */
export class Interner {
  private readonly pool = new Map<string, string>();
  get(s: string): string {
    const known = this.pool.get(s);
    if (known !== undefined) return known;
    this.pool.set(s, s);
    return s;
  }
}

/** A growable column of numbers in a typed array, so rows never become objects. */
export class NumberColumn<A extends Int32Array | Float64Array | Uint8Array> {
  private data: A;
  length = 0;
  constructor(private readonly make: (n: number) => A) {
    this.data = make(1 << 12);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  at(i: number): number {
    return this.data[i]!;
  }
  /** A copy of the values pushed, without the spare capacity. */
  toArray(): A {
    return this.data.slice(0, this.length) as A;
  }
}

export const int32Column = () => new NumberColumn((n) => new Int32Array(n));
export const float64Column = () => new NumberColumn((n) => new Float64Array(n));
export const uint8Column = () => new NumberColumn((n) => new Uint8Array(n));
