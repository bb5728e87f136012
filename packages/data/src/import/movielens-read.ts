/**
 * Reads MovieLens ratings in the three layouts they are shipped in, into one
 * column-oriented log: GroupLens CSV (`ratings.csv` + `movies.csv`, e.g.
 * ml-latest-small), GroupLens `::`-separated (`ratings.dat` + `movies.dat`,
 * ml-1m and ml-10m), and the joined table R's `write.csv(dslabs::movielens)`
 * writes (movieId,title,year,genres,userId,rating,timestamp).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '../errors';
import { Interner, RowProblem, csvRows, float64Column, forEachCsvRecord, forEachLine, int32Column, parseId, parseNumber, parseTimestamp, type NumberColumn } from './source';

export interface Movie {
  id: string;
  /** Genres in file order; `(no genres listed)` reads as none. */
  genres: string[];
  /** Release year, or '' when unknown. */
  year: string;
}

/** Every rating, in file order; users and movies by index. */
export interface RatingLog {
  layout: 'grouplens-csv' | 'grouplens-dat' | 'joined-csv';
  movies: Movie[];
  /** User ids in order of first appearance. */
  users: string[];
  user: NumberColumn<Int32Array>;
  movie: NumberColumn<Int32Array>;
  rating: NumberColumn<Float64Array>;
  timestamp: NumberColumn<Float64Array>;
}

const NO_GENRES = '(no genres listed)';
// GroupLens titles end in the year: "Toy Story (1995)", "Fawlty Towers (1975-1979)".
const TITLE_YEAR = /\((\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$/;

/**
 * Finds the layout of `input` and reads it: a file is a joined table; a
 * folder holds ratings.csv + movies.csv, ratings.dat + movies.dat, or a
 * joined movielens.csv (checked in that order).
 * @throws DatasetError naming the file and line of the first malformed row
 */
export async function readRatingLog(input: string): Promise<RatingLog> {
  const kind = await pathKind(input);
  if (kind === 'missing') throw new DatasetError(input, 0, 'file not found');
  if (kind === 'file') return readJoined(input);
  const has = async (name: string) => (await pathKind(join(input, name))) === 'file';
  if (await has('ratings.csv')) return readGroupLens(input, 'csv');
  if (await has('ratings.dat')) return readGroupLens(input, 'dat');
  if (await has('movielens.csv')) return readJoined(join(input, 'movielens.csv'));
  throw new DatasetError(input, 0, 'no MovieLens files: expected ratings.csv + movies.csv, ratings.dat + movies.dat, or movielens.csv');
}

async function pathKind(path: string): Promise<'file' | 'dir' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

function emptyLog(layout: RatingLog['layout']): RatingLog {
  return {
    layout,
    movies: [],
    users: [],
    user: int32Column(),
    movie: int32Column(),
    rating: float64Column(),
    timestamp: float64Column(),
  };
}

/** Appends ratings to a log, numbering users as they appear. */
function ratingsAppender(log: RatingLog) {
  const userIndex = new Map<string, number>();
  let lastId = '';
  let last = -1;
  return (userId: string, movie: number, rating: number, timestamp: number) => {
    // Ratings come grouped by user: reusing the last lookup skips most hashing.
    if (userId !== lastId) {
      let u = userIndex.get(userId);
      if (u === undefined) {
        u = log.users.length;
        userIndex.set(userId, u);
        log.users.push(userId);
      }
      lastId = userId;
      last = u;
    }
    log.user.push(last);
    log.movie.push(movie);
    log.rating.push(rating);
    log.timestamp.push(timestamp);
  };
}

function parseGenres(raw: string, interner: Interner, column: string): string[] {
  if (raw === '' || raw === NO_GENRES) return [];
  const genres = raw.split('|');
  for (let i = 0; i < genres.length; i++) {
    const g = genres[i]!.trim();
    if (g === '') throw new RowProblem(`empty genre in ${JSON.stringify(raw)}`, column);
    genres[i] = interner.get(g);
  }
  return genres;
}

async function readGroupLens(dir: string, format: 'csv' | 'dat'): Promise<RatingLog> {
  const log = emptyLog(format === 'csv' ? 'grouplens-csv' : 'grouplens-dat');
  const movieIndex = new Map<string, number>();
  const interner = new Interner();
  const addMovie = (id: string, title: string, genres: string) => {
    if (movieIndex.has(id)) throw new RowProblem(`duplicate movie ${id}`, 'movieId');
    movieIndex.set(id, log.movies.length);
    log.movies.push({ id, genres: parseGenres(genres, interner, 'genres'), year: TITLE_YEAR.exec(title)?.[1] ?? '' });
  };
  const append = ratingsAppender(log);
  const addRating = (userId: string, movieId: string, rating: string, timestamp: string) => {
    const m = movieIndex.get(parseId(movieId, 'movieId'));
    if (m === undefined) throw new RowProblem(`movie ${movieId} is not in the movies file`, 'movieId');
    append(parseId(userId, 'userId'), m, parseNumber(rating, 'rating'), parseTimestamp(timestamp, 'timestamp'));
  };

  if (format === 'csv') {
    await forEachCsvRecord(join(dir, 'movies.csv'), csvRows(['movieId', 'title', 'genres'], (get) => addMovie(parseId(get('movieId'), 'movieId'), get('title'), get('genres'))));
    await forEachCsvRecord(
      join(dir, 'ratings.csv'),
      csvRows(['userId', 'movieId', 'rating', 'timestamp'], (get) => addRating(get('userId'), get('movieId'), get('rating'), get('timestamp'))),
    );
  } else {
    await forEachLine(join(dir, 'movies.dat'), (text) => {
      const parts = text.split('::');
      if (parts.length < 3) throw new RowProblem(`expected MovieID::Title::Genres, got ${parts.length} field(s)`);
      // A title could itself hold '::': the id is first and the genres last.
      addMovie(parseId(parts[0]!, 'MovieID'), parts.slice(1, -1).join('::'), parts[parts.length - 1]!);
    });
    await forEachLine(join(dir, 'ratings.dat'), (text) => {
      const parts = text.split('::');
      if (parts.length !== 4) throw new RowProblem(`expected UserID::MovieID::Rating::Timestamp, got ${parts.length} field(s)`);
      addRating(parts[0]!, parts[1]!, parts[2]!, parts[3]!);
    });
  }
  return log;
}

/** dslabs' joined table: each row repeats its movie's title, year and genres. */
async function readJoined(file: string): Promise<RatingLog> {
  const log = emptyLog('joined-csv');
  const movieIndex = new Map<string, number>();
  const firstLine: number[] = [];
  const interner = new Interner();
  const append = ratingsAppender(log);
  let hasYear = false;
  await forEachCsvRecord(
    file,
    csvRows(['movieId', 'genres', 'userId', 'rating', 'timestamp'], (get, line) => {
      const movieId = parseId(get('movieId'), 'movieId');
      const rawYear = get('year');
      // R writes a missing year as NA; without a year column, the title may end in one.
      const year = hasYear ? (rawYear === '' || rawYear === 'NA' ? '' : parseId(rawYear, 'year')) : (TITLE_YEAR.exec(get('title'))?.[1] ?? '');
      const genres = parseGenres(get('genres'), interner, 'genres');
      let m = movieIndex.get(movieId);
      if (m === undefined) {
        m = log.movies.length;
        movieIndex.set(movieId, m);
        firstLine.push(line);
        log.movies.push({ id: movieId, genres, year });
      } else {
        const known = log.movies[m]!;
        if (known.year !== year || known.genres.join('|') !== genres.join('|')) {
          throw new RowProblem(`movie ${movieId} has year/genres ${year}/${genres.join('|')} here but ${known.year}/${known.genres.join('|')} on line ${firstLine[m]}`, 'genres');
        }
      }
      append(parseId(get('userId'), 'userId'), m, parseNumber(get('rating'), 'rating'), parseTimestamp(get('timestamp'), 'timestamp'));
    }, ['title', 'year'], (header) => {
      hasYear = header.includes('year');
    }),
  );
  return log;
}
