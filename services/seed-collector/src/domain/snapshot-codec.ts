/**
 * The binary form of a seed-book snapshot. JSON would spend ~4 bytes of quotes
 * and commas per id and a parse per string; with 3M seeds per candidate a
 * length-prefixed byte layout is several times smaller and faster to read.
 *
 * Layout (little-endian): magic "RSB2", u32 header length, header JSON,
 * then every string section as (varint byte length, UTF-8 bytes) items, then
 * the CRC-32 (zlib's) of every byte before it. Without it one changed digit of a
 * user id decoded fine and put a user who never clicked into the seeds. "RSB1"
 * (the same without the checksum) is still read, so an upgrade keeps its state.
 */
import { crc32 } from 'node:zlib';
import { StorageCorruptError } from '@ralm/platform/errors';

const MAGIC = 0x32425352; // "RSB2"
const MAGIC_V1 = 0x31425352; // "RSB1": no checksum

export interface SnapshotHeader {
  /** Highest click-stream sequence already applied: a restore replays from the next one. */
  appliedSeq: number;
  /** The stream `appliedSeq` counts in (EventBus.streamId); empty when unknown. */
  streamId: string;
  takenAtMs: number;
  /** Click-derived state per candidate, in the order of the seed sections. */
  candidates: Array<{ candidateId: string; totalClicks: number; lastClickAtMs: number; seedVersion: number; seedCount: number }>;
  /** Event ids remembered for idempotence, in the last section. */
  seenEventCount: number;
}

export interface SnapshotContent {
  header: SnapshotHeader;
  /** Per candidate (header order): seed user ids, oldest first. */
  seeds: string[][];
  /** Event ids, oldest first. */
  seenEvents: string[];
}

/** A snapshot's bytes that do not decode: truncated, foreign or corrupted. */
export class SnapshotFormatError extends StorageCorruptError {
  constructor(reason: string) {
    super('seed-book/snapshot', `seed-book snapshot unreadable: ${reason}. Delete the key seed-book/snapshot from the state store to rebuild the seeds from the click stream, if it still holds them all`);
  }
}

class Writer {
  private buf = new Uint8Array(1 << 16);
  private at = 0;
  private readonly encoder = new TextEncoder();

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }

  u32(v: number): void {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.at, v, true);
    this.at += 4;
  }

  varint(v: number): void {
    this.reserve(5);
    while (v >= 0x80) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.at++] = v;
  }

  string(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit: encode past a 5-byte gap, then slide it back behind its length.
    const max = s.length * 3;
    this.reserve(max + 5);
    const scratchAt = this.at + 5;
    const { written } = this.encoder.encodeInto(s, this.buf.subarray(scratchAt, scratchAt + max));
    let lengthBytes = 1;
    while (written >= 2 ** (7 * lengthBytes)) lengthBytes++;
    this.buf.copyWithin(this.at + lengthBytes, scratchAt, scratchAt + written);
    this.varint(written);
    this.at += written;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

class Reader {
  private at = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new SnapshotFormatError(`truncated at byte ${this.at}`);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1);
      const b = this.buf[this.at++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    throw new SnapshotFormatError(`bad length at byte ${this.at}`);
  }

  string(): string {
    const n = this.varint();
    this.need(n);
    const s = this.decoder.decode(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  strings(count: number): string[] {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = this.string();
    return out;
  }

  end(): void {
    if (this.at !== this.buf.length) throw new SnapshotFormatError(`${this.buf.length - this.at} trailing bytes`);
  }
}

export function encodeSnapshot(content: SnapshotContent): Uint8Array {
  const w = new Writer();
  w.u32(MAGIC);
  const header = new TextEncoder().encode(JSON.stringify(content.header));
  w.u32(header.length);
  w.raw(header);
  for (const section of content.seeds) for (const s of section) w.string(s);
  for (const s of content.seenEvents) w.string(s);
  const body = w.bytes();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body), true);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotContent {
  const magic = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) : 0;
  if (magic !== MAGIC && magic !== MAGIC_V1) throw new SnapshotFormatError('not a seed-book snapshot (bad magic)');
  if (magic === MAGIC) {
    if (bytes.length < 8) throw new SnapshotFormatError(`truncated at byte ${bytes.length}`);
    const body = bytes.subarray(0, bytes.length - 4);
    const stored = new DataView(bytes.buffer, bytes.byteOffset + body.length, 4).getUint32(0, true);
    const actual = crc32(body);
    if (stored !== actual) {
      throw new SnapshotFormatError(`checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)} over ${body.length} bytes): damaged or truncated`);
    }
    bytes = body;
  }
  const r = new Reader(bytes);
  r.u32();
  const headerBytes = r.raw(r.u32());
  let header: SnapshotHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes)) as SnapshotHeader;
  } catch {
    throw new SnapshotFormatError('header is not JSON');
  }
  if (!Number.isSafeInteger(header.appliedSeq) || !Array.isArray(header.candidates)) throw new SnapshotFormatError('header fields missing');
  const seeds = header.candidates.map((c) => r.strings(c.seedCount));
  const seenEvents = r.strings(header.seenEventCount);
  r.end();
  return { header, seeds, seenEvents };
}
