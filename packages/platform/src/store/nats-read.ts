/** Reading one object-store object into memory, without hanging on a stalled stream. */
import type { ObjectResult } from '@nats-io/obj';
import { UnavailableError } from '../errors';

/**
 * Concatenates an object's chunks. The library's read stream never settles
 * when its connection closes mid-read or when the chunks were purged (by a
 * concurrent replace or delete) before its consumer started, so a gap of
 * `stallMs` between chunks fails the read with UnavailableError.
 */
export async function readObject(result: ObjectResult, stallMs: number, what: string): Promise<Uint8Array> {
  // Checked after the data; a rejection before that must not go unhandled.
  result.error.catch(() => undefined);
  const reader = result.data.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await within(reader.read(), stallMs, what);
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } catch (err) {
    reader.cancel().catch(() => undefined); // stops the library's consumer
    throw err;
  }
  const failed = await result.error;
  if (failed) throw failed;
  // Copy: chunks may be views into larger network buffers.
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`nats state store: ${what} stalled: no data for ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, stalled]);
  } finally {
    clearTimeout(timer);
  }
}
