import { DatasetError, readDataset } from '@ralm/data';
import { VALID_FILES, tempDirs, writeFiles } from './helpers';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

async function readWith(overrides: Record<string, string | undefined>) {
  const dir = await dirs.make();
  const files = { ...VALID_FILES, ...overrides };
  for (const [name, text] of Object.entries(overrides)) if (text === undefined) delete files[name];
  await writeFiles(dir, files);
  return readDataset(dir);
}

const schemaWith = (fields: unknown[]) => JSON.stringify({ fields }, null, 2);

// [case, overrides, expected error]
const cases: [string, Record<string, string | undefined>, Partial<DatasetError>][] = [
  // schema.json: `schemaWith` puts field i's object on line 3 + 4i.
  ['invalid JSON', { 'schema.json': '{\n  "fields": [\n    {"name": "a", "kind": "univalent"},\n  ]\n}' }, { file: 'schema.json', line: 4 }],
  ['JSON missing a colon', { 'schema.json': '{\n  "fields": [\n    {"name" "a", "kind": "univalent"}\n  ]\n}' }, { file: 'schema.json', line: 3 }],
  ['JSON cut short', { 'schema.json': '{\n  "fields": [\n    {"name": "a", "kind": "univalent"}\n' }, { file: 'schema.json', line: 3 }],
  ['no fields array', { 'schema.json': '{"field": []}' }, { file: 'schema.json', line: 1 }],
  [
    'bad kind',
    { 'schema.json': schemaWith([{ name: 'tags', kind: 'multivalent' }, { name: 'city', kind: 'categorical' }]) },
    { file: 'schema.json', line: 7 },
  ],
  [
    'duplicate field name',
    { 'schema.json': schemaWith([{ name: 'tags', kind: 'multivalent' }, { name: 'tags', kind: 'univalent' }]) },
    { file: 'schema.json', line: 7 },
  ],
  ['field named user_id', { 'schema.json': schemaWith([{ name: 'user_id', kind: 'univalent' }]) }, { file: 'schema.json', line: 3 }],
  ['field name with a space', { 'schema.json': schemaWith([{ name: 'home city', kind: 'univalent' }]) }, { file: 'schema.json', line: 3 }],
  // users.csv
  ['column not in the schema', { 'users.csv': 'user_id,tags,city,age,zip\nu1,a,b,1,75001\n' }, { file: 'users.csv', line: 1, column: 'zip' }],
  ['schema field without a column', { 'users.csv': 'user_id,tags,city\nu1,a,b\n' }, { file: 'users.csv', line: 1, column: 'age' }],
  ['no user_id column', { 'users.csv': 'tags,city,age\na,b,1\n' }, { file: 'users.csv', line: 1, column: 'user_id' }],
  ['duplicate column', { 'users.csv': 'user_id,tags,city,age,city\nu1,a,b,1,c\n' }, { file: 'users.csv', line: 1, column: 'city' }],
  ['duplicate user id', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,1\nu2,a,b,2\nu1,a,b,3\n' }, { file: 'users.csv', line: 4, column: 'user_id' }],
  ['empty user id', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,1\n,a,b,2\n' }, { file: 'users.csv', line: 3, column: 'user_id' }],
  ['non-numeric continuous', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,1\nu2,a,b,abc\n' }, { file: 'users.csv', line: 3, column: 'age' }],
  ['Infinity is not a number here', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,Infinity\n' }, { file: 'users.csv', line: 2, column: 'age' }],
  ['hex is not a number here', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,0x10\n' }, { file: 'users.csv', line: 2, column: 'age' }],
  ['empty list element', { 'users.csv': 'user_id,tags,city,age\nu1,a||b,c,1\n' }, { file: 'users.csv', line: 2, column: 'tags' }],
  ['too few columns', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,1\nu2,a,b\n' }, { file: 'users.csv', line: 3 }],
  ['too many columns', { 'users.csv': 'user_id,tags,city,age\nu1,a,b,1,9\n' }, { file: 'users.csv', line: 2 }],
  [
    'line numbers count quoted line breaks and blank lines',
    { 'users.csv': 'user_id,tags,city,age\nu1,a,"two\nlines",1\n\nu2,a,b,x\n' },
    { file: 'users.csv', line: 5, column: 'age' },
  ],
  ['unclosed quote', { 'users.csv': 'user_id,tags,city,age\nu1,a,"b,1\nu2,a,b,1\n' }, { file: 'users.csv' }],
  ['empty users file', { 'users.csv': '' }, { file: 'users.csv', line: 1 }],
  // items.csv
  ['items without tags column', { 'items.csv': 'item_id,category\ni1,news\n' }, { file: 'items.csv', line: 1, column: 'tags' }],
  ['unknown items column', { 'items.csv': 'item_id,category,tags,price\ni1,news,x,3\n' }, { file: 'items.csv', line: 1, column: 'price' }],
  ['duplicate item id', { 'items.csv': 'item_id,category,tags\ni1,news,x\ni1,sport,y\n' }, { file: 'items.csv', line: 3, column: 'item_id' }],
  ['empty item id', { 'items.csv': 'item_id,category,tags\n,news,x\n' }, { file: 'items.csv', line: 2, column: 'item_id' }],
  // events.csv
  ['unknown user', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1,1\nu9,i1,2,0\n' }, { file: 'events.csv', line: 3, column: 'user_id' }],
  ['unknown item', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1,1\nu1,i7,2,0\n' }, { file: 'events.csv', line: 3, column: 'item_id' }],
  ['negative timestamp', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,-5,1\n' }, { file: 'events.csv', line: 2, column: 'timestamp' }],
  ['fractional timestamp', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1.5,1\n' }, { file: 'events.csv', line: 2, column: 'timestamp' }],
  ['empty timestamp', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,,1\n' }, { file: 'events.csv', line: 2, column: 'timestamp' }],
  ['label 2', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1,1\nu1,i2,2,2\n' }, { file: 'events.csv', line: 3, column: 'label' }],
  ['label true', { 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1,true\n' }, { file: 'events.csv', line: 2, column: 'label' }],
  ['missing label column', { 'events.csv': 'user_id,item_id,timestamp\nu1,i1,1\n' }, { file: 'events.csv', line: 1, column: 'label' }],
  ['missing events file', { 'events.csv': undefined }, { file: 'events.csv', line: 0 }],
  ['missing schema file', { 'schema.json': undefined }, { file: 'schema.json', line: 0 }],
];

describe('readDataset rejects the first bad row', () => {
  it('accepts the valid fixture', async () => {
    const ds = await readWith({});
    expect(ds.users.ids).toEqual(['u1', 'u2', 'u3']);
  });

  it.each(cases)('%s', async (_name, overrides, expected) => {
    const read = readWith(overrides);
    await expect(read).rejects.toBeInstanceOf(DatasetError);
    await expect(read).rejects.toMatchObject({ name: 'DatasetError', ...expected });
  });

  it('puts file, line and column in the message', async () => {
    await expect(readWith({ 'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1,5\n' })).rejects.toThrow(
      /^events\.csv:2 \(column label\): label "5" is not 0 or 1$/,
    );
  });

  it('reports the first of several bad rows', async () => {
    const events = 'user_id,item_id,timestamp,label\nu1,i1,1,1\nu1,i1,x,1\nu1,i1,1,7\n';
    await expect(readWith({ 'events.csv': events })).rejects.toMatchObject({ line: 3, column: 'timestamp' });
  });
});
