import type { Dataset } from '@ralm/data';
import { splitByTime } from '../split';
import { AbOptionError } from './options';

const DAY = 86_400;

/** The users who come back on one replayed day, and how many impressions each gets. */
export interface DaySlots {
  /** Unix seconds: the day covers [start, start + 86,400). */
  start: number;
  /** User rows, ascending. */
  users: Int32Array;
  /** Logged events of users[j] that day: the impressions the simulation gives them. */
  counts: Int32Array;
}

/** The held-out part of a dataset, as the simulator replays it. */
export interface ReplayWindow {
  /** Unix seconds: events before it are the past both arms start from, events from it on are replayed. */
  cutoff: number;
  /** Event indices with timestamp < cutoff, ascending. */
  pastEvents: Int32Array;
  days: DaySlots[];
}

/**
 * Splits the data into the past and the days to replay. With `days`, the last `days` UTC
 * days are replayed; without, the `ralm eval` split's cutoff (the 80% timestamp quantile)
 * starts the replay and days are 24-hour windows from it.
 * @throws AbOptionError when `days` leaves no past to learn from
 */
export function replayWindow(dataset: Dataset, days?: number): ReplayWindow {
  const { timestamp, user } = dataset.events;
  const n = timestamp.length;
  if (n === 0) throw new RangeError('the dataset has no events to replay');
  let first = Infinity;
  let last = -Infinity;
  for (let e = 0; e < n; e++) {
    first = Math.min(first, timestamp[e]!);
    last = Math.max(last, timestamp[e]!);
  }
  let cutoff: number;
  if (days === undefined) {
    cutoff = splitByTime(dataset).cutoff;
  } else {
    cutoff = Math.floor(last / DAY) * DAY - (days - 1) * DAY;
    if (cutoff <= first) {
      const span = Math.floor(last / DAY) - Math.floor(first / DAY) + 1;
      throw new AbOptionError('days', `leaves no past before the replay: the data spans ${span} UTC day(s), so at most ${span - 1} can be replayed, got ${days}`);
    }
  }
  const dayCount = Math.floor((last - cutoff) / DAY) + 1;
  const perDay = Array.from({ length: dayCount }, () => new Map<number, number>());
  const past: number[] = [];
  for (let e = 0; e < n; e++) {
    const t = timestamp[e]!;
    if (t < cutoff) {
      past.push(e);
      continue;
    }
    const slots = perDay[Math.floor((t - cutoff) / DAY)]!;
    slots.set(user[e]!, (slots.get(user[e]!) ?? 0) + 1);
  }
  return {
    cutoff,
    pastEvents: Int32Array.from(past),
    days: perDay.map((slots, d) => {
      const users = Int32Array.from(slots.keys()).sort();
      return { start: cutoff + d * DAY, users, counts: Int32Array.from(users, (u) => slots.get(u)!) };
    }),
  };
}
