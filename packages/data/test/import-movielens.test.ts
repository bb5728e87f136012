import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError, importMovieLens, importToDir, readDataset, writeDataset, type Dataset } from '@ralm/data';
import { tempDirs } from './helpers';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** One small rating log, written below in each layout MovieLens comes in. */
const MOVIES = [
  { id: '1', title: 'Toy Story', year: '1995', genres: 'Adventure|Animation|Children' },
  { id: '2', title: 'Heat', year: '1995', genres: 'Action|Crime|Thriller' },
  { id: '3', title: "Amélie (Fabuleux destin d'Amélie Poulain, Le)", year: '2001', genres: 'Comedy|Romance' },
  { id: '4', title: 'Crouching Tiger, Hidden Dragon (Wo hu cang long)', year: '2000', genres: 'Action|Drama' },
  { id: '5', title: 'The "Quoted" Film', year: '', genres: '(no genres listed)' },
  { id: '6', title: 'Dune', year: '2021', genres: 'Drama' },
];
/** userId, movieId, rating, timestamp — not in time order, with a tie for user 20. */
const RATINGS: [string, string, string, string][] = [
  ['10', '3', '4', '300'],
  ['10', '1', '5', '100'],
  ['10', '2', '2', '200'],
  ['20', '2', '4', '50'],
  ['20', '1', '3', '50'],
  ['10', '6', '4', '600'],
  ['10', '4', '4.5', '400'],
  ['20', '4', '5', '70'],
  ['20', '6', '3.5', '80'],
  ['10', '5', '1', '500'],
  ['30', '5', '4', '900'],
];

const csvQuote = (s: string) => `"${s.replace(/"/g, '""')}"`;
const grouplensTitle = (m: (typeof MOVIES)[number]) => (m.year === '' ? m.title : `${m.title} (${m.year})`);

async function writeGroupLensCsv(dir: string): Promise<void> {
  // A BOM and CRLF endings, as spreadsheets write them.
  const movies = ['movieId,title,genres', ...MOVIES.map((m) => `${m.id},${csvQuote(grouplensTitle(m))},${m.genres}`)];
  await writeFile(join(dir, 'movies.csv'), '\uFEFF' + movies.join('\r\n') + '\r\n');
  await writeFile(join(dir, 'ratings.csv'), ['userId,movieId,rating,timestamp', ...RATINGS.map((r) => r.join(','))].join('\n') + '\n');
}

async function writeGroupLensDat(dir: string): Promise<void> {
  // ml-1m's .dat files are Latin-1, not UTF-8.
  const movies = MOVIES.map((m) => `${m.id}::${grouplensTitle(m)}::${m.genres}\n`).join('');
  await writeFile(join(dir, 'movies.dat'), Buffer.from(movies, 'latin1'));
  await writeFile(join(dir, 'ratings.dat'), RATINGS.map(([u, m, r, t]) => `${u}::${m}::${r}::${t}\r\n`).join(''));
}

/** As `write.csv(dslabs::movielens, file, row.names = rowNames)` writes it. */
function joinedCsv(rowNames: boolean): string {
  const header = ['movieId', 'title', 'year', 'genres', 'userId', 'rating', 'timestamp'].map(csvQuote);
  const lines = [(rowNames ? ['""', ...header] : header).join(',')];
  RATINGS.forEach(([u, id, r, t], row) => {
    const m = MOVIES.find((x) => x.id === id)!;
    const cells = [id, csvQuote(m.title), m.year === '' ? 'NA' : m.year, csvQuote(m.genres), u, r, t];
    lines.push((rowNames ? [csvQuote(String(row + 1)), ...cells] : cells).join(','));
  });
  return lines.join('\n') + '\n';
}

/** The layout-independent content: items by id, users by id, events as sorted rows. */
function view(ds: Dataset) {
  const items = Object.fromEntries(ds.items.ids.map((id, i) => [id, { category: ds.items.category[i], tags: ds.items.tags[i] }]));
  const users = Object.fromEntries(
    ds.users.ids.map((id, u) => [
      id,
      Object.fromEntries([...ds.users.fields].map(([name, col]) => [name, col.kind === 'continuous' ? col.values[u] : col.values[u]])),
    ]),
  );
  const events = Array.from(ds.events.user, (u, e) => `${ds.users.ids[u]},${ds.items.ids[ds.events.item[e]!]},${ds.events.timestamp[e]},${ds.events.label[e]}`);
  return { items, users, events };
}

function expectNoHistoryInEvents(ds: Dataset): void {
  const history = ds.users.fields.get('history')!;
  if (history.kind !== 'multivalent') throw new Error('history is not multivalent');
  for (let e = 0; e < ds.events.user.length; e++) {
    expect(history.values[ds.events.user[e]!]).not.toContain(ds.items.ids[ds.events.item[e]!]);
  }
}

async function expectRoundTrip(ds: Dataset): Promise<void> {
  const out = await dirs.make();
  expect(await writeDataset(out, ds)).toBe(ds.fingerprint);
  expect(await readDataset(out)).toEqual(ds);
}

describe('importMovieLens', () => {
  it('reads the GroupLens CSV layout: profile fields from the first half, later ratings as events', async () => {
    const dir = await dirs.make();
    await writeGroupLensCsv(dir);
    const ds = await importMovieLens({ input: dir });

    expect(ds.schema.fields).toEqual([
      { name: 'genre_interests', kind: 'multivalent' },
      { name: 'history', kind: 'multivalent' },
      { name: 'activity', kind: 'continuous' },
      { name: 'avg_rating', kind: 'continuous' },
    ]);
    expect(ds.users.ids).toEqual(['10', '20', '30']);
    const { users, items, events } = view(ds);
    // User 10 in time order: 1 (5), 2 (2), 3 (4) | 4 (4.5), 5 (1), 6 (4); the first 3 of 6 are the profile.
    expect(users['10']).toEqual({
      genre_interests: ['Adventure', 'Animation', 'Children', 'Comedy', 'Romance'],
      history: ['1', '3'],
      activity: Math.log(6),
      avg_rating: 11 / 3,
    });
    // User 20: 2 and 1 share a timestamp, so file order decides; 1 was rated 3, not a read.
    expect(users['20']).toEqual({ genre_interests: ['Action', 'Crime', 'Thriller'], history: ['2'], activity: Math.log(4), avg_rating: 3.5 });
    // User 30 has one rating: an empty profile, and the rating is an event.
    expect(users['30']).toEqual({ genre_interests: [], history: [], activity: 0, avg_rating: NaN });
    expect(events).toEqual(['10,4,400,1', '10,5,500,0', '10,6,600,1', '20,4,70,1', '20,6,80,0', '30,5,900,1']);
    expect(items['1']).toEqual({ category: 'Adventure', tags: ['Adventure', 'Animation', 'Children', 'year:1995'] });
    expect(items['4']).toEqual({ category: 'Action', tags: ['Action', 'Drama', 'year:2000'] });
    expect(items['5']).toEqual({ category: '', tags: [] });
    expectNoHistoryInEvents(ds);
    await expectRoundTrip(ds);
  });

  it('reads the ml-1m .dat layout (Latin-1, CRLF) into the same dataset', async () => {
    const csvDir = await dirs.make();
    const datDir = await dirs.make();
    await writeGroupLensCsv(csvDir);
    await writeGroupLensDat(datDir);
    const dat = await importMovieLens({ input: datDir });
    expect(dat).toEqual(await importMovieLens({ input: csvDir }));
    expectNoHistoryInEvents(dat);
    await expectRoundTrip(dat);
  });

  it.each([
    ['without', false],
    ['with', true],
  ])('reads the dslabs joined table %s the row-number column, with quoted titles holding commas', async (_, rowNames) => {
    const csvDir = await dirs.make();
    await writeGroupLensCsv(csvDir);
    const file = join(await dirs.make(), 'movielens.csv');
    await writeFile(file, joinedCsv(rowNames));
    const joined = await importMovieLens({ input: file });
    // Items come in order of first rating rather than movies.csv order; the content is the same.
    expect(joined.items.ids).toEqual(['3', '1', '2', '6', '4', '5']);
    expect(view(joined)).toEqual(view(await importMovieLens({ input: csvDir })));
    expectNoHistoryInEvents(joined);
    await expectRoundTrip(joined);
  });

  it('finds a joined movielens.csv inside a folder', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, 'movielens.csv'), joinedCsv(false));
    expect((await importMovieLens({ input: dir })).users.ids).toEqual(['10', '20', '30']);
  });

  it('applies readThreshold and historyLength', async () => {
    const dir = await dirs.make();
    await writeGroupLensCsv(dir);
    const lenient = view(await importMovieLens({ input: dir, readThreshold: 3 }));
    expect(lenient.users['20']!.history).toEqual(['2', '1']);
    expect(lenient.events).toContain('20,6,80,1');

    // One history movie: user 10's profile ends right after the first read.
    const short = view(await importMovieLens({ input: dir, historyLength: 1 }));
    expect(short.users['10']).toMatchObject({ history: ['1'], avg_rating: 5 });
    expect(short.events.filter((e) => e.startsWith('10,'))).toEqual(['10,2,200,0', '10,3,300,1', '10,4,400,1', '10,5,500,0', '10,6,600,1']);

    const none = await importMovieLens({ input: dir, historyLength: 0 });
    expect(none.events.user.length).toBe(RATINGS.length);
    await expect(importMovieLens({ input: dir, historyLength: 1.5 })).rejects.toThrow(RangeError);
    await expect(importMovieLens({ input: dir, readThreshold: NaN })).rejects.toThrow(RangeError);
  });

  it('drops a later rating of a history movie, so no event repeats the history', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, 'movies.csv'), 'movieId,title,genres\n1,A (2000),Drama\n2,B (2001),Comedy\n');
    // Movie 1 is read first (history) and rated again later.
    await writeFile(join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,5,1\n1,2,3,2\n1,2,4,3\n1,1,4,4\n');
    const ds = await importMovieLens({ input: dir });
    expect(view(ds).users['1']!.history).toEqual(['1']);
    expect(view(ds).events).toEqual(['1,2,3,1']);
    expectNoHistoryInEvents(ds);
  });

  it('keeps movies nobody rated as items', async () => {
    const dir = await dirs.make();
    await writeGroupLensCsv(dir);
    await writeFile(join(dir, 'movies.csv'), `movieId,title,genres\n${MOVIES.map((m) => `${m.id},${csvQuote(grouplensTitle(m))},${m.genres}`).join('\n')}\n7,Nobody Saw It (1950),Film-Noir\n`);
    const ds = await importMovieLens({ input: dir });
    expect(ds.items.ids).toContain('7');
    await expectRoundTrip(ds);
  });
});

describe('importMovieLens on malformed input', () => {
  async function groupLens(ratings: string, movies = 'movieId,title,genres\n1,A (2000),Drama\n'): Promise<string> {
    const dir = await dirs.make();
    await writeFile(join(dir, 'movies.csv'), movies);
    await writeFile(join(dir, 'ratings.csv'), ratings);
    return dir;
  }

  it.each([
    ['a rating that is not a number', 'userId,movieId,rating,timestamp\n1,1,4,10\n1,1,four,11\n', 3, 'rating'],
    ['a negative timestamp', 'userId,movieId,rating,timestamp\n1,1,4,-5\n', 2, 'timestamp'],
    ['a movie missing from movies.csv', 'userId,movieId,rating,timestamp\n1,1,4,10\n\n2,9,4,10\n', 4, 'movieId'],
    ['a row with a column too few', 'userId,movieId,rating,timestamp\n1,1,4,10\n2,1,4\n', 3, undefined],
    ['a user id that is not an integer', 'userId,movieId,rating,timestamp\nbob,1,4,10\n', 2, 'userId'],
  ])('ratings.csv with %s names the line', async (_, ratings, line, column) => {
    const dir = await groupLens(ratings);
    await expect(importMovieLens({ input: dir })).rejects.toMatchObject({ name: 'DatasetError', file: join(dir, 'ratings.csv'), line, column });
  });

  it('rejects a header without the rating column', async () => {
    const dir = await groupLens('userId,movieId,score,timestamp\n1,1,4,10\n');
    await expect(importMovieLens({ input: dir })).rejects.toMatchObject({ file: join(dir, 'ratings.csv'), line: 1, reason: expect.stringContaining('missing column rating') });
  });

  it('rejects a duplicate movie and an empty genre in movies.csv', async () => {
    const dup = await groupLens('userId,movieId,rating,timestamp\n', 'movieId,title,genres\n1,A,Drama\n1,B,Drama\n');
    await expect(importMovieLens({ input: dup })).rejects.toMatchObject({ file: join(dup, 'movies.csv'), line: 3, column: 'movieId' });
    const empty = await groupLens('userId,movieId,rating,timestamp\n', 'movieId,title,genres\n1,A,Drama||Comedy\n');
    await expect(importMovieLens({ input: empty })).rejects.toMatchObject({ file: join(empty, 'movies.csv'), line: 2, column: 'genres' });
  });

  it('reports malformed quoting with its line', async () => {
    const dir = await groupLens('userId,movieId,rating,timestamp\n1,1,4,10\n', 'movieId,title,genres\n1,A,Drama\n2,"Broken "quote,Drama\n');
    await expect(importMovieLens({ input: dir })).rejects.toMatchObject({ name: 'DatasetError', file: join(dir, 'movies.csv'), line: 3 });
  });

  it('rejects a .dat line with the wrong number of fields', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, 'movies.dat'), '1::A (2000)::Drama\n');
    await writeFile(join(dir, 'ratings.dat'), '1::1::4::10\n1::1::4\n');
    await expect(importMovieLens({ input: dir })).rejects.toMatchObject({ file: join(dir, 'ratings.dat'), line: 2, reason: expect.stringContaining('got 3 field(s)') });
  });

  it('rejects a joined table whose rows disagree on a movie', async () => {
    const file = join(await dirs.make(), 'movielens.csv');
    await writeFile(file, 'movieId,title,year,genres,userId,rating,timestamp\n1,"A, B",2000,Drama,1,4,10\n1,"A, B",2000,Comedy,2,4,10\n');
    await expect(importMovieLens({ input: file })).rejects.toMatchObject({
      file,
      line: 3,
      column: 'genres',
      reason: expect.stringContaining('on line 2'),
    });
  });

  it('names what a folder lacks, and a missing path', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n');
    await expect(importMovieLens({ input: dir })).rejects.toMatchObject({ file: join(dir, 'movies.csv'), line: 0, reason: 'file not found' });
    const empty = await dirs.make();
    await mkdir(join(empty, 'sub'));
    await expect(importMovieLens({ input: join(empty, 'sub') })).rejects.toBeInstanceOf(DatasetError);
    await expect(importMovieLens({ input: join(empty, 'nope') })).rejects.toMatchObject({ line: 0, reason: 'file not found' });
  });
});

describe('importToDir', () => {
  it('writes a MovieLens import that reads back with the reported fingerprint and counts', async () => {
    const input = await dirs.make();
    await writeGroupLensCsv(input);
    const out = join(await dirs.make(), 'dataset');
    const summary = await importToDir('movielens', input, out, { historyLength: 1 });
    const back = await readDataset(out);
    expect(summary).toEqual({ fingerprint: back.fingerprint, users: 3, items: 6, events: 9, positives: 5 });
    expect(back).toEqual(await importMovieLens({ input, historyLength: 1 }));
  });

  it('rejects an unknown kind', async () => {
    await expect(importToDir('netflix' as 'movielens', '/nowhere', '/nowhere')).rejects.toThrow(RangeError);
  });
});
