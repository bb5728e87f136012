import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importTencentLookalike, importToDir, readDataset, writeDataset } from '@ralm/data';
import { tempDirs } from './helpers';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** The competition's three files, in miniature. */
const FILES = {
  'adFeature.csv': [
    'aid,advertiserId,campaignId,creativeId,creativeSize,adCategoryId,productId,productType',
    '177,8203,76104,1500666,59,282,0,6',
    '2050,19441,178687,245165,53,1,0,6',
    '1716,11284,32282,2058990,22,27,113,9',
  ].join('\n'),
  'train.csv': ['aid,uid,label', '177,2,1', '2050,15,-1', '177,7,-1', '1716,2,-1', '2050,7,1'].join('\n'),
  'userFeature.data': [
    'uid 7|age 4|gender 2|marriageStatus 5 13 10|interest1 93 70 77|kw1 664359 276966|LBS 950|os 2|ct 3 1|custom 1',
    'uid 99|age 1|gender 1|never 1 2',
    'uid 2|age 3|gender 1|marriageStatus 11|interest1 75|topic1 9826|house 1|custom 2|multi 1 2\r',
    'uid 15|age 5|gender 2|ct 1|os 1|multi 3',
  ].join('\n'),
};

async function competition(overrides: Partial<Record<keyof typeof FILES, string>> = {}): Promise<string> {
  const dir = await dirs.make();
  for (const [name, text] of Object.entries({ ...FILES, ...overrides })) await writeFile(join(dir, name), text + '\n');
  return dir;
}

describe('importTencentLookalike', () => {
  it('maps ads to items, train rows to events in file order, and user features to fields', async () => {
    const ds = await importTencentLookalike(await competition());

    expect(ds.items).toEqual({
      ids: ['177', '2050', '1716'],
      category: ['282', '1', '27'],
      tags: [
        ['productType:6', 'advertiser:8203'],
        ['productType:6', 'advertiser:19441'],
        ['productType:9', 'advertiser:11284'],
      ],
    });
    // Users in order of first appearance in train.csv; uid 99 has no event and is left out.
    expect(ds.users.ids).toEqual(['2', '15', '7']);
    expect(ds.schema.fields).toEqual([
      { name: 'age', kind: 'univalent' },
      { name: 'gender', kind: 'univalent' },
      { name: 'marriageStatus', kind: 'multivalent' },
      { name: 'interest1', kind: 'multivalent' },
      { name: 'kw1', kind: 'multivalent' },
      { name: 'LBS', kind: 'univalent' },
      { name: 'os', kind: 'multivalent' },
      { name: 'ct', kind: 'multivalent' },
      { name: 'custom', kind: 'univalent' },
      { name: 'topic1', kind: 'multivalent' },
      { name: 'house', kind: 'univalent' },
      { name: 'multi', kind: 'multivalent' },
    ]);
    const field = (name: string) => ds.users.fields.get(name)!.values;
    expect(field('age')).toEqual(['3', '5', '4']);
    expect(field('marriageStatus')).toEqual([['11'], [], ['5', '13', '10']]);
    expect(field('LBS')).toEqual(['', '', '950']);
    expect(field('custom')).toEqual(['2', '', '1']);
    expect(field('multi')).toEqual([['1', '2'], ['3'], []]);
    expect(field('os')).toEqual([[], ['1'], ['2']]);

    // Timestamp = line number in train.csv; label -1 → 0.
    expect(Array.from(ds.events.user, (u) => ds.users.ids[u])).toEqual(['2', '15', '7', '2', '7']);
    expect(Array.from(ds.events.item, (i) => ds.items.ids[i])).toEqual(['177', '2050', '177', '1716', '2050']);
    expect(Array.from(ds.events.timestamp)).toEqual([2, 3, 4, 5, 6]);
    expect(Array.from(ds.events.label)).toEqual([1, 0, 0, 0, 1]);

    const out = await dirs.make();
    expect(await writeDataset(out, ds)).toBe(ds.fingerprint);
    expect(await readDataset(out)).toEqual(ds);
  });

  it('is what importToDir writes', async () => {
    const input = await competition();
    const out = await dirs.make();
    const summary = await importToDir('tencent', input, out);
    expect(summary).toMatchObject({ users: 3, items: 3, events: 5, positives: 2 });
    expect(await readDataset(out)).toEqual(await importTencentLookalike(input));
  });

  it.each([
    ['train.csv', 'a label that is not 1 or -1', { 'train.csv': 'aid,uid,label\n177,2,1\n177,7,yes' }, 3, 'label'],
    ['train.csv', 'an aid missing from adFeature.csv', { 'train.csv': 'aid,uid,label\n177,2,1\n999,7,1' }, 3, 'aid'],
    ['train.csv', 'a uid that userFeature.data lacks', { 'train.csv': 'aid,uid,label\n177,2,1\n177,2,-1\n177,42,1' }, 4, 'uid'],
    ['adFeature.csv', 'a duplicate aid', { 'adFeature.csv': `${FILES['adFeature.csv']}\n177,1,1,1,1,1,1,1` }, 5, 'aid'],
    ['userFeature.data', 'a line without "uid <id>"', { 'userFeature.data': 'uid 7|age 4\nage 3|uid 2' }, 2, 'uid'],
    ['userFeature.data', 'two values for age', { 'userFeature.data': 'uid 7|age 4\n\nuid 2|age 3 4' }, 3, 'age'],
    ['userFeature.data', 'a field name the format cannot hold', { 'userFeature.data': 'uid 7|age 4\nuid 2|2nd 1' }, 2, '2nd'],
    ['userFeature.data', 'a uid given twice', { 'userFeature.data': `${FILES['userFeature.data']}\nuid 7|age 1` }, 5, 'uid'],
  ])('names the %s line of %s', async (file, _, overrides, line, column) => {
    const dir = await competition(overrides);
    await expect(importTencentLookalike(dir)).rejects.toMatchObject({ name: 'DatasetError', file: join(dir, file), line, column });
  });

  it('names a missing file', async () => {
    const dir = await dirs.make();
    await expect(importTencentLookalike(dir)).rejects.toMatchObject({ name: 'DatasetError', file: join(dir, 'adFeature.csv'), line: 0 });
  });
});
