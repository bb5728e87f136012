import { createHash } from 'node:crypto';

/**
 * 64 well-mixed bits of `text` as two unsigned 32-bit words. MD5 because it is in
 * every Node build, fast on short keys and uniform enough for sketches; nothing here
 * needs a cryptographic guarantee (assignment uses SHA-256 for portability, not secrecy).
 */
export function hash64(text: string): [number, number] {
  const d = createHash('md5').update(text).digest();
  return [d.readUInt32BE(0), d.readUInt32BE(4)];
}

/** A uniform number in [0, 1) for `text`: the basis of hash sampling. */
export function hashFraction(text: string): number {
  return hash64(text)[0] / 2 ** 32;
}
