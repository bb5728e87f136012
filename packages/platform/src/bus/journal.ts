/**
 * The embedded bus's write-ahead journal: every published message is appended
 * to one file and flushed to disk before its publish resolves, so a message the
 * bus acknowledged survives a crash of the process, as it would in JetStream.
 * Concurrent publishes share one write and one fdatasync (group commit).
 *
 * File layout: records of (u32 LE length, payload). The first payload is the
 * JSON header {format, streamId}; each later payload is (u32 LE header length,
 * JSON {seq, subject, publishedAtMs, headers}, message bytes). A torn record at
 * the end (a crash mid-write) is cut off on open.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StoredMessage } from './memory-log';

const FORMAT = 'ralm-bus-journal/1';
const FILE = 'journal';

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
    /** Called with the highest sequence made durable by a flush. */
    private readonly onDurable: (seq: number) => void,
  ) {
    this.records = records;
  }

  /** Opens (or creates) the journal in `dir` and returns what it holds, oldest first. */
  static async open(dir: string, onDurable: (seq: number) => void): Promise<{ journal: BusJournal; messages: StoredMessage[] }> {
    await fs.mkdir(dir, { recursive: true });
    const target = path.join(dir, FILE);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      bytes = Buffer.alloc(0);
    }
    const { streamId, messages, validBytes } = parse(bytes);
    if (streamId === undefined) {
      const id = `memory:${randomUUID()}`;
      await writeAtomically(target, [record(Buffer.from(JSON.stringify({ format: FORMAT, streamId: id })))]);
      const file = await fs.open(target, 'a');
      return { journal: new BusJournal(dir, file, id, 0, onDurable), messages: [] };
    }
    if (validBytes < bytes.length) await fs.truncate(target, validBytes);
    const file = await fs.open(target, 'a');
    return { journal: new BusJournal(dir, file, streamId, messages.length, onDurable), messages };
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
      await writeAtomically(target, [record(Buffer.from(JSON.stringify({ format: FORMAT, streamId: this.streamId }))), ...messages.map(encodeMessage)]);
      const previous = this.file;
      this.file = await fs.open(target, 'a');
      await previous.close();
      this.records = messages.length;
    } finally {
      this.flushing = false;
      if (this.pending.length > 0) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    }
  }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setImmediate(r));
    await this.file.close();
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.file.write(Buffer.concat(batch.map((p) => p.bytes)));
        await this.file.datasync();
        this.records += batch.length;
        this.onDurable(batch[batch.length - 1]!.seq);
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = false;
  }
}

function record(payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

function encodeMessage(m: StoredMessage): Uint8Array {
  const header = Buffer.from(JSON.stringify({ seq: m.seq, subject: m.subject, publishedAtMs: m.publishedAtMs, headers: m.headers }));
  const payload = Buffer.alloc(4 + header.length + m.data.length);
  payload.writeUInt32LE(header.length, 0);
  payload.set(header, 4);
  payload.set(m.data, 4 + header.length);
  return record(payload);
}

function parse(bytes: Buffer): { streamId: string | undefined; messages: StoredMessage[]; validBytes: number } {
  let at = 0;
  let streamId: string | undefined;
  const messages: StoredMessage[] = [];
  while (at + 4 <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    if (at + 4 + length > bytes.length) break; // torn tail
    const payload = bytes.subarray(at + 4, at + 4 + length);
    if (streamId === undefined) {
      const header = JSON.parse(payload.toString('utf8')) as { format: string; streamId: string };
      if (header.format !== FORMAT) throw new Error(`bus journal: unknown format '${header.format}'`);
      streamId = header.streamId;
    } else {
      const headerLength = payload.readUInt32LE(0);
      const meta = JSON.parse(payload.subarray(4, 4 + headerLength).toString('utf8')) as Omit<StoredMessage, 'data'>;
      messages.push({ ...meta, headers: Object.freeze(meta.headers), data: Uint8Array.from(payload.subarray(4 + headerLength)) });
    }
    at += 4 + length;
  }
  return { streamId, messages, validBytes: streamId === undefined ? 0 : at };
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
