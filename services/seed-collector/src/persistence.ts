import type { Logger, StateStore } from '@ralm/platform';
import type { CandidateRecord, SeedBook } from './domain/seed-book';
import { decodeSnapshot, encodeSnapshot } from './domain/snapshot-codec';

/**
 * How the seed book survives a restart. Two kinds of state, two policies:
 *
 * - Registrations (register, retire, expire) are rare and not on the bus's click
 *   stream, so each is written to the store before the RPC answers.
 * - Seeds come from the click stream. The book is snapshotted now and then with the
 *   stream sequence it reflects; a restart loads the snapshot and replays the stream
 *   from the next sequence. A click acknowledged on the bus but not yet in a snapshot
 *   is replayed, and the book's event-id memory makes the replay idempotent.
 */
export const SNAPSHOT_KEY = 'seed-book/snapshot';
const CANDIDATE_PREFIX = 'candidate/';

type Registration = Pick<CandidateRecord, 'candidateId' | 'category' | 'tags' | 'state' | 'registeredAtMs' | 'retiredAtMs' | 'retiredReason'>;

/** Persists a candidate's registration; resolves once durable. */
export async function saveCandidate(store: StateStore, record: CandidateRecord): Promise<void> {
  const { candidateId, category, tags, state, registeredAtMs, retiredAtMs, retiredReason } = record;
  const registration: Registration = { candidateId, category, tags, state, registeredAtMs, retiredAtMs, retiredReason };
  await store.put(CANDIDATE_PREFIX + candidateId, new TextEncoder().encode(JSON.stringify(registration)));
}

/** Loads registrations, then the latest snapshot, into an empty book. */
export async function loadBook(store: StateStore, book: SeedBook, streamId: string, logger: Logger): Promise<void> {
  const keys = await store.keys(CANDIDATE_PREFIX);
  for (const key of keys) {
    const bytes = await store.get(key);
    if (!bytes) continue;
    const r = JSON.parse(new TextDecoder().decode(bytes)) as Registration;
    book.loadRecord({ ...r, lastClickAtMs: 0, totalClicks: 0, seedVersion: 0 });
  }
  const bytes = await store.get(SNAPSHOT_KEY);
  if (!bytes) {
    logger.info({ candidates: keys.length }, 'no seed snapshot; replaying the click stream from the start');
    return;
  }
  // A snapshot that does not decode is a hard stop: replaying from sequence 1 could silently
  // miss clicks the stream no longer retains. The operator decides (delete the key to rebuild).
  const content = decodeSnapshot(bytes);
  const orphans = book.restore(content);
  if (content.header.streamId !== streamId) {
    // Positions of another stream (the embedded bus of an earlier process, or a re-created NATS
    // stream) say nothing about this one: keep the seeds, read this stream from its start.
    logger.warn({ snapshotStream: content.header.streamId, busStream: streamId }, 'snapshot taken on another stream; replaying this one from its start');
    book.appliedSeq = 0;
  }
  if (orphans.length > 0) logger.warn({ orphans: orphans.length }, 'snapshot entries without a registration were skipped');
  logger.info(
    { candidates: keys.length, appliedSeq: content.header.appliedSeq, takenAtMs: content.header.takenAtMs, bytes: bytes.length },
    'seed book restored from snapshot',
  );
}

/**
 * The stream lost its tail since the snapshot (restored from an older backup, a journal
 * cut back): its last sequence is below what the book has applied. The next clicks are
 * numbered from there, so a resume at `appliedSeq + 1` would skip them and an applied
 * position that only grows would never snapshot them. The book keeps what it applied
 * (its seeds are real clicks), comes back to the stream's end, and is snapshotted at
 * once, so a crash right after does not bring the stale position back.
 */
export async function rebaseOnShorterStream(book: SeedBook, store: StateStore, lastSeq: number, streamId: string, now: () => number, logger: Logger): Promise<boolean> {
  if (book.appliedSeq <= lastSeq) return false;
  logger.error(
    { appliedSeq: book.appliedSeq, streamLastSeq: lastSeq, streamId },
    'the click stream ends before the seed snapshot: it lost its tail (a restore from an older backup?). Seeds applied from the lost part are kept; reading on from the stream end',
  );
  book.appliedSeq = lastSeq;
  await store.put(SNAPSHOT_KEY, encodeSnapshot(book.snapshot(now(), streamId)));
  return true;
}

export interface Snapshotter {
  /** Writes a snapshot now if the book moved since the last one. */
  snapshot(): Promise<void>;
  /** Stops the timer and writes a final snapshot. */
  stop(): Promise<void>;
}

/** Snapshots every `intervalMs` when clicks were applied since the last snapshot; one write at a time. */
export function startSnapshotter(book: SeedBook, store: StateStore, streamId: string, intervalMs: number, now: () => number, logger: Logger): Snapshotter {
  let savedSeq = book.appliedSeq;
  let running: Promise<void> = Promise.resolve();
  const snapshot = () =>
    (running = running.then(async () => {
      if (book.appliedSeq === savedSeq) return;
      const started = performance.now();
      const content = book.snapshot(now(), streamId);
      const bytes = encodeSnapshot(content);
      try {
        await store.put(SNAPSHOT_KEY, bytes);
        savedSeq = content.header.appliedSeq;
        logger.debug({ appliedSeq: savedSeq, bytes: bytes.length, ms: Math.round(performance.now() - started) }, 'seed snapshot written');
      } catch (err) {
        logger.warn({ err }, 'seed snapshot failed; the next period retries (the stream still holds the clicks)');
      }
    }));
  const timer = setInterval(() => void snapshot(), intervalMs);
  timer.unref();
  return {
    snapshot,
    stop: async () => {
      clearInterval(timer);
      await snapshot();
    },
  };
}
