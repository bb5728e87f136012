import { createHash } from 'node:crypto';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachCsvRecord, RowProblem } from './csv';
import { asDatasetError, countNewlines, DatasetError } from './errors';
import {
  DECIMAL,
  EVENT_COLUMNS,
  FIELD_KINDS,
  FIELD_NAME,
  ITEM_COLUMNS,
  LIST_SEPARATOR,
  UNSIGNED_INTEGER,
  USER_ID,
  combineFingerprint,
  splitList,
  type DatasetFile,
} from './format';
import type { Dataset, Events, FieldColumn, FieldKind, FieldSpec, Items, Schema, Users } from './types';

/**
 * Reads and validates a dataset folder: `schema.json`, `users.csv`,
 * `items.csv` and `events.csv` (format: docs/DATA.md). CSV files are streamed,
 * so memory holds the parsed columns, never a whole file's text; repeated
 * strings (tags, categories, field values) are shared, not copied per row.
 *
 * Columns of each CSV may come in any order; blank lines are skipped; a UTF-8
 * byte-order mark is ignored. `fingerprint` covers the files' raw bytes (see
 * `combineFingerprint`), hashed during the same single read.
 *
 * @throws DatasetError at the first problem, naming file, 1-based line (the
 *   header is line 1; 0 when the file itself is missing) and column where one
 *   is to blame.
 */
/** How a dataset's files are opened: a service confines them to its data root (security/confine.ts openWithin). */
export type OpenFile = (file: string) => Promise<FileHandle>;

export interface ReadOptions {
  open?: OpenFile;
}

export async function readDataset(dir: string, options: ReadOptions = {}): Promise<Dataset> {
  const open = options.open ?? ((file: string) => openFile(file, 'r'));
  const schemaFile = await readSchema(join(dir, 'schema.json'), open);
  const users = usersTable(schemaFile.schema);
  const items = itemsTable();
  const usersDigest = await readCsv(dir, 'users.csv', users.onHeader, open);
  const itemsDigest = await readCsv(dir, 'items.csv', items.onHeader, open);
  const events = eventsTable(users.index, items.index);
  const eventsDigest = await readCsv(dir, 'events.csv', events.onHeader, open);
  return {
    schema: schemaFile.schema,
    users: users.result(),
    items: items.result(),
    events: events.result(),
    fingerprint: combineFingerprint({
      'schema.json': schemaFile.digest,
      'users.csv': usersDigest,
      'items.csv': itemsDigest,
      'events.csv': eventsDigest,
    }),
  };
}

type RowHandler = (record: string[]) => void;
/** Receives the header row; returns the handler for every later row, or throws RowProblem. */
type HeaderHandler = (header: string[]) => RowHandler;

async function readCsv(dir: string, file: DatasetFile, onHeader: HeaderHandler, open: OpenFile): Promise<string> {
  const hash = createHash('sha256');
  let header: string[] | undefined;
  let onRow: RowHandler = () => undefined;
  await forEachCsvRecord(
    join(dir, file),
    (record) => {
      if (header === undefined) {
        header = record;
        onRow = onHeader(record);
      } else if (record.length !== header.length) {
        throw new RowProblem(`expected ${header.length} columns, got ${record.length}`);
      } else {
        onRow(record);
      }
    },
    { name: file, onBytes: (chunk) => hash.update(chunk), open },
  );
  if (header === undefined) throw new DatasetError(file, 1, 'empty file: the header row is missing');
  return hash.digest('hex');
}


/** Maps header names to positions, rejecting duplicates, unknown and missing columns. */
function columnPositions(header: string[], expected: readonly string[]): Map<string, number> {
  const positions = new Map<string, number>();
  header.forEach((name, i) => {
    if (positions.has(name)) throw new RowProblem(`duplicate column ${JSON.stringify(name)}`, name);
    if (!expected.includes(name)) {
      throw new RowProblem(`unknown column ${JSON.stringify(name)}; expected ${expected.join(', ')}`, name);
    }
    positions.set(name, i);
  });
  for (const name of expected) if (!positions.has(name)) throw new RowProblem(`missing column ${name}`, name);
  return positions;
}

/** Keeps one copy of each distinct string: a million users share a few hundred tags. */
class Interner {
  private readonly pool = new Map<string, string>();
  get(s: string): string {
    const known = this.pool.get(s);
    if (known !== undefined) return known;
    this.pool.set(s, s);
    return s;
  }
  list(raw: string, column: string): string[] {
    const values = splitList(raw);
    for (let i = 0; i < values.length; i++) {
      if (values[i] === '') throw new RowProblem(`empty value in the '${LIST_SEPARATOR}'-separated list ${JSON.stringify(raw)}`, column);
      values[i] = this.get(values[i]!);
    }
    return values;
  }
}

function checkId(id: string, column: string, index: Map<string, number>): void {
  if (id === '') throw new RowProblem('empty id', column);
  if (index.has(id)) throw new RowProblem(`duplicate id ${JSON.stringify(id)}`, column);
}

function parseContinuous(raw: string, column: string): number {
  if (raw === '') return NaN;
  if (!DECIMAL.test(raw)) throw new RowProblem(`${JSON.stringify(raw)} is not a number`, column);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new RowProblem(`${raw} is out of range`, column);
  return v;
}

function usersTable(schema: Schema) {
  const ids: string[] = [];
  const index = new Map<string, number>();
  const interner = new Interner();
  const columns = schema.fields.map(({ kind }) => ({ kind, values: [] as unknown[] }));
  const onHeader: HeaderHandler = (header) => {
    const names = schema.fields.map((f) => f.name);
    for (const name of header) {
      if (name !== USER_ID && !names.includes(name)) {
        throw new RowProblem(`column ${JSON.stringify(name)} is not a field of schema.json`, name);
      }
    }
    const positions = columnPositions(header, [USER_ID, ...names]);
    const idAt = positions.get(USER_ID)!;
    const at = names.map((n) => positions.get(n)!);
    return (record) => {
      const id = record[idAt]!;
      checkId(id, USER_ID, index);
      for (let f = 0; f < columns.length; f++) {
        const raw = record[at[f]!]!;
        const { kind, values } = columns[f]!;
        if (kind === 'univalent') values.push(interner.get(raw));
        else if (kind === 'multivalent') values.push(interner.list(raw, names[f]!));
        else values.push(parseContinuous(raw, names[f]!));
      }
      index.set(id, ids.length);
      ids.push(id);
    };
  };
  const result = (): Users => {
    const fields = new Map<string, FieldColumn>();
    schema.fields.forEach(({ name, kind }, f) => {
      const values = columns[f]!.values;
      fields.set(
        name,
        kind === 'continuous'
          ? { kind, values: Float64Array.from(values as number[]) }
          : kind === 'univalent'
            ? { kind, values: values as string[] }
            : { kind, values: values as string[][] },
      );
    });
    return { ids, fields };
  };
  return { index, onHeader, result };
}

function itemsTable() {
  const ids: string[] = [];
  const category: string[] = [];
  const tags: string[][] = [];
  const index = new Map<string, number>();
  const interner = new Interner();
  const onHeader: HeaderHandler = (header) => {
    const positions = columnPositions(header, ITEM_COLUMNS);
    const [idAt, categoryAt, tagsAt] = ITEM_COLUMNS.map((c) => positions.get(c)!) as [number, number, number];
    return (record) => {
      const id = record[idAt]!;
      checkId(id, 'item_id', index);
      category.push(interner.get(record[categoryAt]!));
      tags.push(interner.list(record[tagsAt]!, 'tags'));
      index.set(id, ids.length);
      ids.push(id);
    };
  };
  return { index, onHeader, result: (): Items => ({ ids, category, tags }) };
}

/** Typed-array columns that double when full, so events never become per-row objects. */
function eventsTable(users: Map<string, number>, items: Map<string, number>) {
  let capacity = 1 << 16;
  let n = 0;
  let user = new Int32Array(capacity);
  let item = new Int32Array(capacity);
  let timestamp = new Float64Array(capacity);
  let label = new Uint8Array(capacity);
  const grow = () => {
    capacity *= 2;
    const u = new Int32Array(capacity);
    const i = new Int32Array(capacity);
    const t = new Float64Array(capacity);
    const l = new Uint8Array(capacity);
    u.set(user);
    i.set(item);
    t.set(timestamp);
    l.set(label);
    [user, item, timestamp, label] = [u, i, t, l];
  };
  const onHeader: HeaderHandler = (header) => {
    const positions = columnPositions(header, EVENT_COLUMNS);
    const [userAt, itemAt, timeAt, labelAt] = EVENT_COLUMNS.map((c) => positions.get(c)!) as [number, number, number, number];
    // Logs usually list a user's events together: reusing the last lookup skips most hashing.
    let lastUserId = '';
    let lastUser: number | undefined;
    return (record) => {
      const userId = record[userAt]!;
      const u = userId === lastUserId ? lastUser : users.get(userId);
      if (u === undefined) throw new RowProblem(`unknown user ${JSON.stringify(userId)}`, 'user_id');
      lastUserId = userId;
      lastUser = u;
      const i = items.get(record[itemAt]!);
      if (i === undefined) throw new RowProblem(`unknown item ${JSON.stringify(record[itemAt])}`, 'item_id');
      const rawTime = record[timeAt]!;
      const t = Number(rawTime);
      if (!UNSIGNED_INTEGER.test(rawTime) || !Number.isSafeInteger(t)) {
        throw new RowProblem(`timestamp ${JSON.stringify(rawTime)} is not a non-negative integer (unix seconds)`, 'timestamp');
      }
      const rawLabel = record[labelAt];
      if (rawLabel !== '0' && rawLabel !== '1') throw new RowProblem(`label ${JSON.stringify(rawLabel)} is not 0 or 1`, 'label');
      if (n === capacity) grow();
      user[n] = u;
      item[n] = i;
      timestamp[n] = t;
      label[n] = rawLabel === '1' ? 1 : 0;
      n++;
    };
  };
  const result = (): Events => ({
    // slice, not subarray: the spare capacity would otherwise stay allocated.
    user: user.slice(0, n),
    item: item.slice(0, n),
    timestamp: timestamp.slice(0, n),
    label: label.slice(0, n),
  });
  return { onHeader, result };
}

async function readSchema(path: string, open: OpenFile): Promise<{ schema: Schema; digest: string }> {
  const file = 'schema.json';
  let bytes: Buffer;
  try {
    const handle = await open(path);
    try {
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw asDatasetError(err, file);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(file, syntaxErrorLine(text), `invalid JSON: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { fields?: unknown }).fields)) {
    throw new DatasetError(file, 1, 'expected an object {"fields": [{"name": ..., "kind": ...}, ...]}');
  }
  const entries = (json as { fields: unknown[] }).fields;
  const lines = fieldLines(text);
  const fields: FieldSpec[] = [];
  entries.forEach((entry, i) => {
    const fail = (reason: string) => new DatasetError(file, lines[i] ?? 1, `fields[${i}]: ${reason}`);
    if (typeof entry !== 'object' || entry === null) throw fail('expected an object {"name": ..., "kind": ...}');
    const { name, kind } = entry as { name?: unknown; kind?: unknown };
    if (typeof name !== 'string' || !FIELD_NAME.test(name)) {
      throw fail(`name ${JSON.stringify(name)} must match ${FIELD_NAME.source}`);
    }
    if (name === USER_ID) throw fail(`name ${USER_ID} is reserved for the id column`);
    if (fields.some((f) => f.name === name)) throw fail(`duplicate field name ${name}`);
    if (!FIELD_KINDS.includes(kind as FieldKind)) {
      throw fail(`kind ${JSON.stringify(kind)} must be one of ${FIELD_KINDS.join(', ')}`);
    }
    fields.push({ name, kind: kind as FieldKind });
  });
  return { schema: { fields }, digest };
}

/**
 * V8 names the position of some JSON errors but not others ("Unexpected token"),
 * so find it by bisection: the shortest prefix that fails for a reason other
 * than ending too soon ends at the offending character.
 */
function syntaxErrorLine(text: string): number {
  const failsEarly = (n: number) => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (err) {
      // Ending too soon reads "Unexpected end", "Unterminated string" or names position n itself.
      const message = (err as Error).message;
      const position = /at position (\d+)/.exec(message);
      return position ? Number(position[1]) < n : !/end of JSON input|unterminated/i.test(message);
    }
  };
  let lo = 0;
  let hi = text.length;
  if (!failsEarly(hi)) return countNewlines(text.trimEnd()) + 1; // it just stops too soon: blame the last line
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (failsEarly(mid)) hi = mid;
    else lo = mid + 1;
  }
  return countNewlines(text.slice(0, Math.max(0, lo - 1))) + 1;
}

/** The line of each object in the root's "fields" array, so schema errors point at the entry. */
function fieldLines(text: string): number[] {
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  let lastRootString = '';
  let inFields = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    else if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      // In valid JSON, the last string seen at depth 1 before a '[' is that array's key.
      if (depth === 1) lastRootString = text.slice(i + 1, j);
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      if (depth === 2 && ch === '[') inFields = lastRootString === 'fields';
      if (depth === 3 && ch === '{' && inFields) lines.push(line);
    } else if (ch === '}' || ch === ']') {
      depth--;
    }
  }
  return lines;
}
