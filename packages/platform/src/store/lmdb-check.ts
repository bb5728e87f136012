/**
 * LMDB maps its file into memory: a data.mdb shorter than its newest meta page says
 * (a truncated copy, a disk that lost its tail) is read past its end and the process
 * dies of SIGBUS, with no message. So the file is checked before it is mapped: the
 * two meta pages (pages 0 and 1) name the last page in use; the file must reach it.
 *
 * Offsets are those of lmdb-js 3's LMDB (checked against files it wrote): a 24-byte
 * page header, then the meta: magic 0xBEEFC0DE at 24, the page size (FREE_DBI's
 * md_pad) at 48, the last page number at 144 and the transaction id at 152. A file
 * whose meta pages do not carry the magic there is left to LMDB (it reports a bad
 * file itself, with an error rather than a signal).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { StorageCorruptError } from '../errors';

const MAGIC = 0xbeefc0de;
const AT = { magic: 24, pageSize: 48, lastPage: 144, txnId: 152 } as const;

interface Meta {
  pageSize: number;
  lastPage: bigint;
  txnId: bigint;
}

function metaAt(bytes: Buffer, base: number): Meta | undefined {
  if (base + AT.txnId + 8 > bytes.length || bytes.readUInt32LE(base + AT.magic) !== MAGIC) return undefined;
  return { pageSize: bytes.readUInt32LE(base + AT.pageSize), lastPage: bytes.readBigUInt64LE(base + AT.lastPage), txnId: bytes.readBigUInt64LE(base + AT.txnId) };
}

/** Throws StorageCorruptError when `dir`'s data.mdb is shorter than its newest meta page needs. */
export async function checkLmdbFile(dir: string): Promise<void> {
  const file = path.join(dir, 'data.mdb');
  const handle = await fs.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!handle) return; // a new store
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, 2 * 65536));
    await handle.read(head, 0, head.length, 0);
    const first = metaAt(head, 0);
    if (!first) {
      if (size > 0 && size < 2 * 4096) throw new StorageCorruptError(file, `lmdb state store ${file} is ${size} bytes: shorter than its two meta pages; restore it from a backup or move the folder aside to start empty`);
      return;
    }
    const second = metaAt(head, first.pageSize);
    const newest = second && second.txnId > first.txnId ? second : first;
    const needed = (newest.lastPage + 1n) * BigInt(newest.pageSize);
    if (BigInt(size) < needed) {
      throw new StorageCorruptError(
        file,
        `lmdb state store ${file} is truncated: ${size} bytes, but its newest meta page (transaction ${newest.txnId}) uses pages up to ${newest.lastPage} of ${newest.pageSize} bytes (${needed} bytes). Opening it would crash on the missing pages; restore it from a backup or move the folder aside to start empty`,
      );
    }
  } finally {
    await handle.close();
  }
}
