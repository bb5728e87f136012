/**
 * MovieLens ratings → a RALM dataset.
 *
 * A rating ≥ `readThreshold` is a read (label 1); a lower one is an exposure
 * without a click (label 0). Each user's ratings are put in time order (ties
 * in file order) and split in two:
 *
 *   profile  the first ⌊n/2⌋ of the user's n ratings, cut short right after
 *            its `historyLength`-th read when it holds more reads than that;
 *   events   every later rating, minus any on a movie of the history (only
 *            possible when a user rated a movie twice).
 *
 * The user fields describe the profile only, so no field is computed from a
 * rating that is also an event, and the model never predicts what it was
 * given:
 *   history          multivalent  the movies read in the profile, oldest first (≤ historyLength)
 *   genre_interests  multivalent  the distinct genres of those movies, most frequent first (ties by name)
 *   avg_rating       continuous   mean rating over the profile; missing when it is empty
 *   activity         continuous   ln(n), n = all the user's ratings (a count, no labels)
 *
 * Splitting by ratings rather than by reads keeps the history's length from
 * revealing how many of the user's events are positive.
 *
 * Items: item_id = movieId, category = the first genre ('' when none), tags =
 * the genres plus `year:YYYY` when the year is known (the `year` column, or
 * the year a GroupLens title ends with).
 */
import { fingerprintOf } from '../serialize';
import type { Dataset, Schema } from '../types';
import { readRatingLog, type RatingLog } from './movielens-read';

export interface MovieLensOptions {
  /**
   * A GroupLens folder (`ratings.csv` + `movies.csv`, or `ratings.dat` +
   * `movies.dat`), or one joined CSV as `write.csv(dslabs::movielens)` writes
   * it (also found as `movielens.csv` inside a folder).
   */
  input: string;
  /** A rating ≥ this is a read (label 1), below it an exposure without a click (label 0). Default 4. */
  readThreshold?: number;
  /** Most movies in a user's `history` field; an integer ≥ 0 (0: no history, every rating an event). Default 20. */
  historyLength?: number;
}

/** The user fields every MovieLens import has, in this order. */
export const MOVIELENS_SCHEMA: Schema = {
  fields: [
    { name: 'genre_interests', kind: 'multivalent' },
    { name: 'history', kind: 'multivalent' },
    { name: 'activity', kind: 'continuous' },
    { name: 'avg_rating', kind: 'continuous' },
  ],
};

/**
 * Reads MovieLens ratings and builds users, items and events as the module
 * comment describes. Users come in order of first appearance, events grouped
 * by user in time order.
 * @throws DatasetError naming the input file and line of the first malformed row
 * @throws RangeError for an option out of its documented range
 */
export async function importMovieLens(options: MovieLensOptions): Promise<Dataset> {
  const dataset = await buildMovieLens(options);
  dataset.fingerprint = fingerprintOf(dataset);
  return dataset;
}

/** `importMovieLens` without the fingerprint ('' here), which costs a serialization. */
export async function buildMovieLens(options: MovieLensOptions): Promise<Dataset> {
  const threshold = options.readThreshold ?? 4;
  const historyLength = options.historyLength ?? 20;
  if (!Number.isFinite(threshold)) throw new RangeError(`readThreshold must be a finite number, got ${threshold}`);
  if (!Number.isSafeInteger(historyLength) || historyLength < 0) {
    throw new RangeError(`historyLength must be an integer ≥ 0, got ${historyLength}`);
  }
  const log = await readRatingLog(options.input);
  return toDataset(log, threshold, historyLength);
}

function toDataset(log: RatingLog, threshold: number, historyLength: number): Dataset {
  const n = log.user.length;
  const userCount = log.users.length;
  const byUser = groupByUser(log);

  const history: string[][] = [];
  const genreInterests: string[][] = [];
  const activity = new Float64Array(userCount);
  const avgRating = new Float64Array(userCount);
  const eventUser = new Int32Array(n);
  const eventItem = new Int32Array(n);
  const eventTime = new Float64Array(n);
  const eventLabel = new Uint8Array(n);
  let e = 0;

  for (let u = 0; u < userCount; u++) {
    const ratings = byUser.order.subarray(byUser.start[u]!, byUser.start[u + 1]!);
    const half = ratings.length >>> 1;
    let profileEnd = 0;
    let sum = 0;
    const read: number[] = [];
    while (profileEnd < half && read.length < historyLength) {
      const r = ratings[profileEnd++]!;
      sum += log.rating.at(r);
      if (log.rating.at(r) >= threshold) read.push(log.movie.at(r));
    }
    history.push(read.map((m) => log.movies[m]!.id));
    genreInterests.push(rankedGenres(read.map((m) => log.movies[m]!.genres)));
    activity[u] = Math.log(ratings.length);
    avgRating[u] = profileEnd === 0 ? NaN : sum / profileEnd;

    const given = new Set(read);
    for (let k = profileEnd; k < ratings.length; k++) {
      const r = ratings[k]!;
      if (given.has(log.movie.at(r))) continue;
      eventUser[e] = u;
      eventItem[e] = log.movie.at(r);
      eventTime[e] = log.timestamp.at(r);
      eventLabel[e] = log.rating.at(r) >= threshold ? 1 : 0;
      e++;
    }
  }

  return {
    schema: { fields: MOVIELENS_SCHEMA.fields.map((f) => ({ ...f })) },
    users: {
      ids: log.users,
      fields: new Map([
        ['genre_interests', { kind: 'multivalent', values: genreInterests }],
        ['history', { kind: 'multivalent', values: history }],
        ['activity', { kind: 'continuous', values: activity }],
        ['avg_rating', { kind: 'continuous', values: avgRating }],
      ]),
    },
    items: {
      ids: log.movies.map((m) => m.id),
      category: log.movies.map((m) => m.genres[0] ?? ''),
      tags: log.movies.map((m) => (m.year === '' ? m.genres : [...m.genres, `year:${m.year}`])),
    },
    events: {
      user: eventUser.slice(0, e),
      item: eventItem.slice(0, e),
      timestamp: eventTime.slice(0, e),
      label: eventLabel.slice(0, e),
    },
    fingerprint: '',
  };
}

/** Rating indices grouped by user (a counting sort), each user's in time order, ties in file order. */
function groupByUser(log: RatingLog): { order: Int32Array; start: Int32Array } {
  const n = log.user.length;
  const start = new Int32Array(log.users.length + 1);
  for (let r = 0; r < n; r++) start[log.user.at(r) + 1]++;
  for (let u = 0; u < log.users.length; u++) start[u + 1] += start[u]!;
  const next = start.slice(0, -1);
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[next[log.user.at(r)]++] = r;
  for (let u = 0; u < log.users.length; u++) {
    order.subarray(start[u]!, start[u + 1]!).sort((a, b) => log.timestamp.at(a) - log.timestamp.at(b) || a - b);
  }
  return { order, start };
}

function rankedGenres(lists: readonly string[][]): string[] {
  const counts = new Map<string, number>();
  for (const list of lists) for (const g of list) counts.set(g, (counts.get(g) ?? 0) + 1);
  return [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
}
