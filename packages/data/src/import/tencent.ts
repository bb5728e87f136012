/**
 * The Tencent 2018 look-alike competition layout → a RALM dataset.
 *
 *   adFeature.csv      aid,advertiserId,campaignId,creativeId,creativeSize,adCategoryId,productId,productType
 *                      → items: item_id = aid, category = adCategoryId,
 *                        tags = [productType:<productType>, advertiser:<advertiserId>]
 *   train.csv          aid,uid,label (1 / -1) → events, label -1 → 0
 *   userFeature.data   `uid 123|age 4|gender 2|interest1 93 70 77|...` per line, values
 *                      space-separated, fields varying per user → users.csv
 *
 * The competition has no timestamps: an event's timestamp is its line number
 * in train.csv (the header is line 1), so a time split of this data is a split
 * by file order.
 *
 * Users are the uids train.csv names, in order of first appearance there;
 * userFeature.data is streamed and lines of other uids are skipped unparsed,
 * so memory holds only the users that have events. Every userFeature field
 * becomes a user field, in order of first appearance: univalent for LBS, age,
 * gender, education, consumptionAbility, carrier and house (a second value is
 * an error); multivalent for interest*, kw*, topic*, appIdInstall,
 * appIdAction, marriageStatus, ct and os; any other field univalent when no
 * user has two values for it, else multivalent. A missing field is '' or [].
 */
import { join } from 'node:path';
import { DatasetError } from '../errors';
import { FIELD_NAME, USER_ID } from '../format';
import { fingerprintOf } from '../serialize';
import type { Dataset, FieldColumn, FieldKind } from '../types';
import { Interner, RowProblem, csvRows, forEachCsvRecord, forEachLine, int32Column, parseId, uint8Column } from './source';

const UNIVALENT = new Set(['LBS', 'age', 'gender', 'education', 'consumptionAbility', 'carrier', 'house']);
const MULTIVALENT = /^(?:interest\d*|kw\d*|topic\d*|appIdInstall|appIdAction|marriageStatus|ct|os)$/;

/**
 * Reads `dir/adFeature.csv`, `dir/train.csv` and `dir/userFeature.data` into a
 * dataset, as the module comment describes.
 * @throws DatasetError naming the input file and line of the first malformed
 *   row, or the train.csv line of a uid that userFeature.data lacks
 */
export async function importTencentLookalike(dir: string): Promise<Dataset> {
  const dataset = await buildTencentLookalike(dir);
  dataset.fingerprint = fingerprintOf(dataset);
  return dataset;
}

/** `importTencentLookalike` without the fingerprint ('' here), which costs a serialization. */
export async function buildTencentLookalike(dir: string): Promise<Dataset> {
  const items = await readAds(join(dir, 'adFeature.csv'));
  const train = await readTrain(join(dir, 'train.csv'), items.index);
  const fields = await readUserFeatures(join(dir, 'userFeature.data'), train.userIndex);
  const missing = fields.seen.indexOf(0);
  if (missing !== -1) {
    throw new DatasetError(join(dir, 'train.csv'), train.firstLine[missing]!, `uid ${train.users[missing]} has no line in userFeature.data`, 'uid');
  }
  return {
    schema: { fields: fields.columns.map(({ name, column }) => ({ name, kind: column.kind })) },
    users: { ids: train.users, fields: new Map(fields.columns.map(({ name, column }) => [name, column])) },
    items: { ids: items.ids, category: items.category, tags: items.tags },
    events: {
      user: train.user.toArray(),
      item: train.item.toArray(),
      timestamp: Float64Array.from(train.line.toArray()),
      label: train.label.toArray(),
    },
    fingerprint: '',
  };
}

/** A value the output format can hold as an id or a list element. */
function token(raw: string, column: string): string {
  if (raw === '' || /[|\s]/.test(raw)) throw new RowProblem(`value ${JSON.stringify(raw)} is empty or holds '|' or a space`, column);
  return raw;
}

async function readAds(path: string) {
  const ids: string[] = [];
  const category: string[] = [];
  const tags: string[][] = [];
  const index = new Map<string, number>();
  const interner = new Interner();
  await forEachCsvRecord(
    path,
    csvRows(['aid', 'advertiserId', 'adCategoryId', 'productType'], (get) => {
      const aid = parseId(get('aid'), 'aid');
      if (index.has(aid)) throw new RowProblem(`duplicate aid ${aid}`, 'aid');
      index.set(aid, ids.length);
      ids.push(aid);
      category.push(interner.get(token(get('adCategoryId'), 'adCategoryId')));
      tags.push([
        interner.get(`productType:${token(get('productType'), 'productType')}`),
        interner.get(`advertiser:${token(get('advertiserId'), 'advertiserId')}`),
      ]);
    }),
  );
  return { ids, category, tags, index };
}

async function readTrain(path: string, items: Map<string, number>) {
  const users: string[] = [];
  const firstLine: number[] = [];
  const userIndex = new Map<string, number>();
  const user = int32Column();
  const item = int32Column();
  const line = int32Column();
  const label = uint8Column();
  await forEachCsvRecord(
    path,
    csvRows(['aid', 'uid', 'label'], (get, at) => {
      const aid = get('aid');
      const i = items.get(aid);
      if (i === undefined) throw new RowProblem(`aid ${JSON.stringify(aid)} is not in adFeature.csv`, 'aid');
      const uid = parseId(get('uid'), 'uid');
      let u = userIndex.get(uid);
      if (u === undefined) {
        u = users.length;
        userIndex.set(uid, u);
        users.push(uid);
        firstLine.push(at);
      }
      const raw = get('label');
      if (raw !== '1' && raw !== '-1' && raw !== '0') throw new RowProblem(`label ${JSON.stringify(raw)} is not 1 or -1`, 'label');
      user.push(u);
      item.push(i);
      line.push(at);
      label.push(raw === '1' ? 1 : 0);
    }),
  );
  return { users, firstLine, userIndex, user, item, line, label };
}

interface FieldValues {
  name: string;
  /** Per user row; undefined where the user lacks the field. */
  values: (string[] | undefined)[];
  mostValues: number;
}

async function readUserFeatures(path: string, userIndex: Map<string, number>) {
  const userCount = userIndex.size;
  const seen = new Uint8Array(userCount);
  const fields = new Map<string, FieldValues>();
  const interner = new Interner();
  await forEachLine(path, (text) => {
    // The uid first, so the lines of users without events are skipped unparsed.
    let bar = text.indexOf('|');
    if (bar === -1) bar = text.length;
    const head = /^uid (\d+)\s*$/.exec(text.slice(0, bar));
    if (head === null) throw new RowProblem(`line does not start with "uid <id>|": ${JSON.stringify(text.slice(0, Math.min(bar, 40)))}`, 'uid');
    const u = userIndex.get(head[1]!);
    if (u === undefined) return;
    if (seen[u] === 1) throw new RowProblem(`duplicate uid ${head[1]}`, 'uid');
    seen[u] = 1;
    while (bar < text.length) {
      const start = bar + 1;
      bar = text.indexOf('|', start);
      if (bar === -1) bar = text.length;
      const words = text.slice(start, bar).split(' ');
      const name = words[0]!;
      if (name === '' && words.length === 1) continue;
      let field = fields.get(name);
      if (field === undefined) {
        if (!FIELD_NAME.test(name) || name === USER_ID || name === 'uid') throw new RowProblem(`invalid field name ${JSON.stringify(name)}`, name);
        // Filled by push: new Array(n) of a large n starts in V8's slow dictionary mode.
        const values: (string[] | undefined)[] = [];
        for (let i = 0; i < userCount; i++) values.push(undefined);
        field = { name, values, mostValues: 0 };
        fields.set(name, field);
      }
      if (field.values[u] !== undefined) throw new RowProblem(`field ${name} appears twice`, name);
      const list: string[] = [];
      for (let w = 1; w < words.length; w++) if (words[w] !== '') list.push(interner.get(words[w]!));
      if (list.length > 1 && UNIVALENT.has(name)) throw new RowProblem(`field ${name} has ${list.length} values; it takes one`, name);
      field.values[u] = list;
      if (list.length > field.mostValues) field.mostValues = list.length;
    }
  });
  const columns = [...fields.values()].map(({ name, values, mostValues }) => ({ name, column: toColumn(kindOf(name, mostValues), values) }));
  return { seen, columns };
}

function kindOf(name: string, mostValues: number): FieldKind {
  if (UNIVALENT.has(name)) return 'univalent';
  if (MULTIVALENT.test(name)) return 'multivalent';
  return mostValues <= 1 ? 'univalent' : 'multivalent';
}

function toColumn(kind: FieldKind, values: (string[] | undefined)[]): FieldColumn {
  const rows = Array.from(values, (v) => v ?? []);
  return kind === 'univalent' ? { kind, values: rows.map((v) => v[0] ?? '') } : { kind: 'multivalent', values: rows };
}
