/**
 * Dataset → the bytes of its four files, as a stream of string chunks, checked
 * against the same rules the reader applies. The writer sends the chunks to
 * disk; `fingerprintOf` only hashes them, so both agree byte for byte.
 */
import { createHash } from 'node:crypto';
import { DatasetError } from './errors';
import {
  DATASET_FILES,
  EVENT_COLUMNS,
  FIELD_KINDS,
  FIELD_NAME,
  ITEM_COLUMNS,
  LIST_SEPARATOR,
  USER_ID,
  combineFingerprint,
  quote,
  type DatasetFile,
} from './format';
import type { Dataset, FieldColumn } from './types';

// Big enough that per-write overhead vanishes, small enough to stay out of the old generation.
const CHUNK_CHARS = 1 << 16;

/** The text of one dataset file, in chunks of about 64 KiB. Throws DatasetError on data the reader would reject. */
export function* fileChunks(dataset: Dataset, file: DatasetFile): Generator<string> {
  switch (file) {
    case 'schema.json':
      checkSchema(dataset);
      yield `${JSON.stringify({ fields: dataset.schema.fields.map(({ name, kind }) => ({ name, kind })) }, null, 2)}\n`;
      return;
    case 'users.csv':
      yield* userChunks(dataset);
      return;
    case 'items.csv':
      yield* itemChunks(dataset);
      return;
    case 'events.csv':
      yield* eventChunks(dataset);
      return;
  }
}

/** The fingerprint `readDataset` would report after `writeDataset(dir, dataset)`. Costs one serialization. */
export function fingerprintOf(dataset: Dataset): string {
  const digests = {} as Record<DatasetFile, string>;
  for (const file of DATASET_FILES) {
    const hash = createHash('sha256');
    for (const chunk of fileChunks(dataset, file)) hash.update(chunk);
    digests[file] = hash.digest('hex');
  }
  return combineFingerprint(digests);
}

function checkSchema({ schema, users }: Dataset): void {
  const seen = new Set<string>();
  schema.fields.forEach(({ name, kind }, i) => {
    const where = (reason: string) => new DatasetError('schema.json', 1, `fields[${i}]: ${reason}`);
    if (!FIELD_NAME.test(name) || name === USER_ID) throw where(`invalid field name ${JSON.stringify(name)}`);
    if (seen.has(name)) throw where(`duplicate field name ${name}`);
    if (!FIELD_KINDS.includes(kind)) throw where(`invalid kind ${JSON.stringify(kind)}`);
    seen.add(name);
    const column = users.fields.get(name);
    if (column === undefined) throw where(`field ${name} has no column in users.fields`);
    if (column.kind !== kind) throw where(`field ${name} is ${kind} in the schema but ${column.kind} in users.fields`);
    if (column.values.length !== users.ids.length) {
      throw where(`field ${name} has ${column.values.length} values for ${users.ids.length} users`);
    }
  });
  for (const name of users.fields.keys()) {
    if (!seen.has(name)) throw new DatasetError('schema.json', 1, `users.fields has ${name}, which the schema lacks`);
  }
}

function checkId(file: DatasetFile, line: number, column: string, id: string, seen: Set<string>): void {
  if (id === '') throw new DatasetError(file, line, 'empty id', column);
  if (seen.has(id)) throw new DatasetError(file, line, `duplicate id ${JSON.stringify(id)}`, column);
  seen.add(id);
}

function joinList(file: DatasetFile, line: number, column: string, values: readonly string[]): string {
  for (const v of values) {
    if (v === '' || v.includes(LIST_SEPARATOR)) {
      throw new DatasetError(file, line, `list value ${JSON.stringify(v)} is empty or contains '${LIST_SEPARATOR}'`, column);
    }
  }
  return quote(values.join(LIST_SEPARATOR));
}

function cell(column: FieldColumn, row: number, line: number, name: string): string {
  switch (column.kind) {
    case 'univalent':
      return quote(column.values[row]!);
    case 'multivalent':
      return joinList('users.csv', line, name, column.values[row]!);
    case 'continuous': {
      const v = column.values[row]!;
      if (Number.isNaN(v)) return '';
      if (!Number.isFinite(v)) throw new DatasetError('users.csv', line, `continuous value ${v} is not finite`, name);
      return String(v);
    }
  }
}

function* userChunks(dataset: Dataset): Generator<string> {
  checkSchema(dataset);
  const { ids } = dataset.users;
  const names = dataset.schema.fields.map((f) => f.name);
  const columns = names.map((n) => dataset.users.fields.get(n)!);
  const seen = new Set<string>();
  let out = [USER_ID, ...names].join(',') + '\n';
  for (let row = 0; row < ids.length; row++) {
    const line = row + 2;
    checkId('users.csv', line, USER_ID, ids[row]!, seen);
    out += quote(ids[row]!);
    for (let c = 0; c < columns.length; c++) out += ',' + cell(columns[c]!, row, line, names[c]!);
    out += '\n';
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  yield out;
}

function* itemChunks({ items }: Dataset): Generator<string> {
  const { ids, category, tags } = items;
  if (category.length !== ids.length || tags.length !== ids.length) {
    throw new DatasetError('items.csv', 1, `items has ${ids.length} ids, ${category.length} categories, ${tags.length} tag lists`);
  }
  const seen = new Set<string>();
  let out = ITEM_COLUMNS.join(',') + '\n';
  for (let row = 0; row < ids.length; row++) {
    const line = row + 2;
    checkId('items.csv', line, 'item_id', ids[row]!, seen);
    out += `${quote(ids[row]!)},${quote(category[row]!)},${joinList('items.csv', line, 'tags', tags[row]!)}\n`;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  yield out;
}

function* eventChunks({ users, items, events }: Dataset): Generator<string> {
  const { user, item, timestamp, label } = events;
  const n = user.length;
  if (item.length !== n || timestamp.length !== n || label.length !== n) {
    throw new DatasetError('events.csv', 1, 'events columns differ in length');
  }
  // Quote each id once, not once per event: a user has tens of events.
  const userCells = users.ids.map(quote);
  const itemCells = items.ids.map(quote);
  let out = EVENT_COLUMNS.join(',') + '\n';
  for (let e = 0; e < n; e++) {
    const line = e + 2;
    const u = userCells[user[e]!];
    const i = itemCells[item[e]!];
    const t = timestamp[e]!;
    const l = label[e]!;
    if (u === undefined) throw new DatasetError('events.csv', line, `user index ${user[e]} out of range`, 'user_id');
    if (i === undefined) throw new DatasetError('events.csv', line, `item index ${item[e]} out of range`, 'item_id');
    if (!Number.isSafeInteger(t) || t < 0) throw new DatasetError('events.csv', line, `timestamp ${t} is not a non-negative integer`, 'timestamp');
    if (l > 1) throw new DatasetError('events.csv', line, `label ${l} is not 0 or 1`, 'label');
    out += `${u},${i},${t},${l}\n`;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  yield out;
}
