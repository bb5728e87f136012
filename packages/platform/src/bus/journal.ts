/**
 * The embedded bus's write-ahead journal: every published message is appended
 * to one file and flushed to disk before its publish resolves, so a message the
 * bus acknowledged survives a crash of the process, as it would in JetStream.
 * Concurrent publishes share one write and one fdatasync (group commit).
 *
 * File layout: records of (u32 LE length, u32 LE CRC-32 of the payload, payload).
 * The first payload is the JSON header {format, streamId}; each later payload is
 * (u32 LE header length, JSON {seq, subject, publishedAtMs, headers}, message
 * bytes). On open, a damaged record with no intact record after it is a torn tail
 * (a crash or a full disk mid-write): it is cut off and logged. A damaged record
 * followed by intact ones is corruption inside the file: the open fails with
 * JournalCorruptError naming the file and the offset, rather than dropping the
 * acknowledged messages after it. Format 1 files (no checksums) are read and
 * rewritten in format 2.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageCorruptError } from '../errors';
import type { StoredMessage } from './memory-log';

const FORMAT = 'ralm-bus-journal/2';
const FORMAT_V1 = 'ralm-bus-journal/1';
const FILE = 'journal';
/** No record is this large (a publish is at most a few MB); a larger length field is damage. */
const MAX_RECORD = 256 * 2 ** 20;
/** How often a journal the disk refused checks whether room came back. */
const ROOM_PROBE_MS = 2000;
/** Free bytes that count as room again: a few large publishes' worth. */
const MIN_FREE_BYTES = 64 * 2 ** 20;

/** A journal damaged inside (not at its tail): the service must not start on it silently. */
export class JournalCorruptError extends StorageCorruptError {
  constructor(
    readonly file: string,
    readonly offset: number,
    why: string,
  ) {
    super(file, `bus journal ${file} is corrupt at byte ${offset} (${why}), with intact records after it; nothing was truncated. Run \`ralm repair --state-dir <STATE_DIR>\` to keep every intact record, or restore it from a backup`);
  }
}

/** Where the journal tells about what it repaired on open. */
export interface JournalLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** How the journal tells its log what became durable, and what never will. */
export interface JournalHooks {
  /** Messages up to `seq` are on disk. */
  durable(seq: number): void;
  /**
   * A write failed: messages from `seq` on were refused, and so were the ones appended
   * after them (written after a gap they would make a journal no restart can read). The
   * log forgets them and hands their sequence numbers out again.
   */
  refused(seq: number): void;
}

interface Pending {
  bytes: Uint8Array;
  seq: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class BusJournal {
  private pending: Pending[] = [];
  private flushing = false;
  /** Message records in the file, live or not: drives compaction. */
  private records: number;

  private constructor(
    private readonly dir: string,
    private file: fs.FileHandle,
    readonly streamId: string,
    records: number,
    private readonly hooks: JournalHooks,
    /** Bytes of intact records in the file: a failed write is cut back to it. */
    private size: number,
  ) {
    this.records = records;
  }
  /** Set when a failed write could not be cut back: appending after damage would corrupt the file. */
  private broken: Error | undefined;
  /**
   * Set by a write the disk refused for room (ENOSPC, EDQUOT) and cleared once the
   * filesystem has room again (checked every ROOM_PROBE_MS) or a write succeeds:
   * meanwhile the bus reports itself down, so health says NOT_SERVING and callers go
   * to a replica that can store their clicks.
   */
  private full: { timer: NodeJS.Timeout } | undefined;

  /** Opens (or creates) the journal in `dir` and returns what it holds, oldest first. */
  static async open(dir: string, hooks: JournalHooks, log?: JournalLog): Promise<{ journal: BusJournal; messages: StoredMessage[] }> {
    await fs.mkdir(dir, { recursive: true });
    const target = path.join(dir, FILE);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      bytes = Buffer.alloc(0);
    }
    const { streamId, messages, validBytes, format } = parse(bytes, target);
    if (streamId === undefined) {
      const id = `memory:${randomUUID()}`;
      const head = headerRecord(id);
      await writeAtomically(target, [head]);
      const file = await fs.open(target, 'a');
      return { journal: new BusJournal(dir, file, id, 0, hooks, head.length), messages: [] };
    }
    if (validBytes < bytes.length) {
      log?.warn({ file: target, offset: validBytes, bytes: bytes.length - validBytes, kept: messages.length }, 'bus journal: a torn record at the end (a crash or a full disk mid-write) was cut off; every record before it is intact');
    }
    if (format !== FORMAT || validBytes < bytes.length) {
      // Rewritten whole (format 1 gains checksums; a torn tail is dropped) before anything is appended.
      const parts = [headerRecord(streamId), ...messages.map(encodeMessage)];
      await writeAtomically(target, parts);
    }
    const file = await fs.open(target, 'a');
    const size = (await file.stat()).size;
    return { journal: new BusJournal(dir, file, streamId, messages.length, hooks, size), messages };
  }

  /** Resolves once `message` is on disk; messages become durable in sequence order. */
  append(message: StoredMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ bytes: encodeMessage(message), seq: message.seq, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** False while the disk has refused a write for lack of room and has not got room back. */
  get writable(): boolean {
    return this.full === undefined && this.broken === undefined;
  }

  private noteFull(err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code !== 'ENOSPC' && code !== 'EDQUOT') || this.full) return;
    const timer = setInterval(() => void this.probeRoom(), ROOM_PROBE_MS);
    timer.unref();
    this.full = { timer };
  }

  private async probeRoom(): Promise<void> {
    const stats = await fs.statfs(this.dir).catch(() => undefined);
    if (stats && stats.bavail * stats.bsize >= MIN_FREE_BYTES) this.clearFull();
  }

  private clearFull(): void {
    if (!this.full) return;
    clearInterval(this.full.timer);
    this.full = undefined;
  }

  /** Messages written since the last compaction (kept or since dropped by retention). */
  get recordCount(): number {
    return this.records;
  }

  /**
   * Rewrites the file with only the messages `kept()` returns, taken while no
   * write is in flight (appends meanwhile wait and land in the new file).
   */
  async compact(kept: () => StoredMessage[]): Promise<void> {
    while (this.flushing) await new Promise((r) => setImmediate(r));
    this.flushing = true;
    try {
      const messages = kept();
      const target = path.join(this.dir, FILE);
      const parts = [headerRecord(this.streamId), ...messages.map(encodeMessage)];
      await writeAtomically(target, parts);
      const previous = this.file;
      this.file = await fs.open(target, 'a');
      await previous.close();
      this.records = messages.length;
      this.size = parts.reduce((n, p) => n + p.length, 0);
      this.broken = undefined;
    } finally {
      this.flushing = false;
      if (this.pending.length > 0) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    }
  }

  async close(): Promise<void> {
    this.clearFull();
    while (this.flushing) await new Promise((r) => setImmediate(r));
    await this.file.close();
  }

  /** Writes every byte: a write may write fewer than asked (a full disk), and the rest must follow or fail. */
  private async writeAll(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      const { bytesWritten } = await this.file.write(bytes, at, bytes.length - at);
      if (bytesWritten <= 0) throw Object.assign(new Error('bus journal: the disk took no bytes (full?)'), { code: 'ENOSPC' });
      at += bytesWritten;
    }
  }

  /**
   * After a failed write, cuts the file back to its last intact record, so the next
   * append does not land after a torn one. If even that fails, every later append
   * is refused rather than written after damage.
   */
  private async cutBack(): Promise<void> {
    try {
      await this.file.truncate(this.size);
    } catch (err) {
      this.broken = Object.assign(new Error(`bus journal: a failed write could not be cut back (${(err as Error).message}); refusing appends until restart`), { cause: err });
    }
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        if (this.broken) throw this.broken;
        const bytes = Buffer.concat(batch.map((p) => p.bytes));
        await this.writeAll(bytes);
        await this.file.datasync();
        this.size += bytes.length;
        this.records += batch.length;
        this.hooks.durable(batch[batch.length - 1]!.seq);
        this.clearFull();
        for (const p of batch) p.resolve();
      } catch (err) {
        this.noteFull(err);
        await this.cutBack();
        // Everything queued meanwhile follows the refused messages: refuse it too, in
        // the same tick as the log rolls back, so no later append can land after a gap.
        const refused = [...batch, ...this.pending];
        this.pending = [];
        this.hooks.refused(batch[0]!.seq);
        for (const p of refused) p.reject(err);
      }
    }
    this.flushing = false;
  }
}

function record(payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(8 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, 8);
  return out;
}

function headerRecord(streamId: string): Uint8Array {
  return record(Buffer.from(JSON.stringify({ format: FORMAT, streamId })));
}

function encodeMessage(m: StoredMessage): Uint8Array {
  const header = Buffer.from(JSON.stringify({ seq: m.seq, subject: m.subject, publishedAtMs: m.publishedAtMs, headers: m.headers }));
  const payload = Buffer.alloc(4 + header.length + m.data.length);
  payload.writeUInt32LE(header.length, 0);
  payload.set(header, 4);
  payload.set(m.data, 4 + header.length);
  return record(payload);
}

interface Parsed {
  streamId: string | undefined;
  messages: StoredMessage[];
  validBytes: number;
  format: string | undefined;
}

/** The intact record at `at`, or why there is none. */
function readRecord(bytes: Buffer, at: number, checksummed: boolean): { payload: Buffer; next: number } | string {
  const head = checksummed ? 8 : 4;
  if (at + head > bytes.length) return 'a record header cut short';
  const length = bytes.readUInt32LE(at);
  if (length > MAX_RECORD) return `a length of ${length}`;
  if (at + head + length > bytes.length) return `a length of ${length} past the end`;
  const payload = bytes.subarray(at + head, at + head + length);
  if (checksummed && crc32(payload) !== bytes.readUInt32LE(at + 4)) return 'a checksum mismatch';
  return { payload, next: at + head + length };
}

function decodePayload(payload: Buffer): StoredMessage {
  const headerLength = payload.readUInt32LE(0);
  const meta = JSON.parse(payload.subarray(4, 4 + headerLength).toString('utf8')) as Omit<StoredMessage, 'data'>;
  return { ...meta, headers: Object.freeze(meta.headers), data: Uint8Array.from(payload.subarray(4 + headerLength)) };
}

/** True when an intact record starts anywhere after `from`: the damage at `from` is then inside the file, not a torn tail. */
function intactRecordAfter(bytes: Buffer, from: number): boolean {
  return nextIntactRecord(bytes, from) !== undefined;
}

function parse(bytes: Buffer, file: string): Parsed {
  if (bytes.length === 0) return { streamId: undefined, messages: [], validBytes: 0, format: undefined };
  // The header decides the format: format 1 records carry no checksum.
  const v1 = readRecord(bytes, 0, false);
  let checksummed = true;
  let first = readRecord(bytes, 0, true);
  if (typeof first === 'string' && typeof v1 !== 'string' && v1.payload.toString('utf8').includes(FORMAT_V1)) {
    first = v1;
    checksummed = false;
  }
  if (typeof first === 'string') {
    // A header torn before it was ever synced: the file held nothing acknowledged.
    if (bytes.length < 64 && !intactRecordAfter(bytes, 0)) return { streamId: undefined, messages: [], validBytes: 0, format: undefined };
    throw new JournalCorruptError(file, 0, `its header: ${first}`);
  }
  const header = JSON.parse(first.payload.toString('utf8')) as { format: string; streamId: string };
  if (header.format !== FORMAT && header.format !== FORMAT_V1) throw new Error(`bus journal: unknown format '${header.format}'`);
  const messages: StoredMessage[] = [];
  let at = first.next;
  while (at < bytes.length) {
    const r = readRecord(bytes, at, checksummed);
    let why = typeof r === 'string' ? r : undefined;
    if (typeof r !== 'string') {
      try {
        messages.push(decodePayload(r.payload));
        at = r.next;
        continue;
      } catch (err) {
        why = `an undecodable record (${(err as Error).message})`;
      }
    }
    if (checksummed && intactRecordAfter(bytes, at)) throw new JournalCorruptError(file, at, why!);
    if (!checksummed && why!.startsWith('an undecodable')) throw new JournalCorruptError(file, at, why!);
    break; // a torn tail
  }
  return { streamId: header.streamId, messages, validBytes: at, format: header.format };
}

async function writeAtomically(target: string, parts: Uint8Array[]): Promise<void> {
  const staging = `${target}.tmp-${randomUUID().slice(0, 8)}`;
  const file = await fs.open(staging, 'w');
  try {
    await file.write(Buffer.concat(parts));
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(staging, target);
}

/** Subject of the placeholder `repairJournal` puts where a damaged record held a message: no consumer subscribes to it. */
export const LOST_SUBJECT = 'ralm.v1._lost';

export interface JournalRepair {
  file: string;
  /** Where the damaged original was moved; undefined when the journal was intact. */
  movedTo: string | undefined;
  kept: number;
  /** Sequences whose records were damaged: placeholders on LOST_SUBJECT keep the numbering. */
  lostSeqs: Array<[number, number]>;
  /** Byte ranges [from, to) of the original that held no intact record. */
  damagedBytes: Array<[number, number]>;
}

/**
 * Salvages a journal that JournalCorruptError refused: keeps every intact record,
 * skips damaged bytes up to the next intact record, and writes a new journal in which
 * each lost message is a placeholder on LOST_SUBJECT, so the stream keeps its id and
 * its sequence numbers (consumers' positions stay meaningful). The original is kept
 * beside it as `journal.damaged-<time>`. An intact journal is left as it is.
 */
export async function repairJournal(dir: string, now = new Date()): Promise<JournalRepair> {
  const file = path.join(dir, FILE);
  const bytes = await fs.readFile(file);
  try {
    parse(bytes, file);
    return { file, movedTo: undefined, kept: -1, lostSeqs: [], damagedBytes: [] };
  } catch (err) {
    if (!(err instanceof JournalCorruptError)) throw err;
  }
  const first = readRecord(bytes, 0, true);
  let streamId = `memory:${randomUUID()}`;
  let at = 0;
  const damagedBytes: Array<[number, number]> = [];
  if (typeof first !== 'string') {
    streamId = (JSON.parse(first.payload.toString('utf8')) as { streamId: string }).streamId;
    at = first.next;
  }
  const messages: StoredMessage[] = [];
  while (at < bytes.length) {
    const r = readRecord(bytes, at, true);
    if (typeof r !== 'string') {
      try {
        const m = decodePayload(r.payload);
        if (messages.length === 0 || m.seq > messages[messages.length - 1]!.seq) messages.push(m);
        at = r.next;
        continue;
      } catch {
        // damaged: skip to the next intact record below
      }
    }
    const next = nextIntactRecord(bytes, at);
    damagedBytes.push([at, next ?? bytes.length]);
    if (next === undefined) break;
    at = next;
  }
  const filled: StoredMessage[] = [];
  const lostSeqs: Array<[number, number]> = [];
  for (const m of messages) {
    const previous = filled[filled.length - 1];
    if (previous && m.seq > previous.seq + 1) {
      lostSeqs.push([previous.seq + 1, m.seq - 1]);
      for (let seq = previous.seq + 1; seq < m.seq; seq++) filled.push({ seq, subject: LOST_SUBJECT, data: new Uint8Array(0), headers: Object.freeze({}), publishedAtMs: previous.publishedAtMs });
    }
    filled.push(m);
  }
  const movedTo = `${file}.damaged-${now.toISOString().replace(/[:.]/g, '-')}`;
  await fs.copyFile(file, movedTo);
  await writeAtomically(file, [headerRecord(streamId), ...filled.map(encodeMessage)]);
  return { file, movedTo, kept: messages.length, lostSeqs, damagedBytes };
}

/** Offset of the first intact, decodable record after `from`, if any. */
function nextIntactRecord(bytes: Buffer, from: number): number | undefined {
  for (let p = from + 1; p + 8 <= bytes.length; p++) {
    const r = readRecord(bytes, p, true);
    if (typeof r === 'string' || r.payload.length < 4) continue;
    try {
      decodePayload(r.payload);
      return p;
    } catch {
      // a checksum that matched garbage by chance
    }
  }
  return undefined;
}
