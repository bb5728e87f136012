/** Pieces both state-store adapters share: key rules, key order, the closed error. */
import { UnavailableError } from '../errors';
import type { BusLogger } from '../bus/shared';
import { MAX_STATE_KEY_BYTES } from './port';

/** The slice of a pino logger the stores use (the bus's); a pino `Logger` satisfies it. */
export type StateStoreLogger = BusLogger;

/**
 * A call on a store that `close()` has closed. An UnavailableError, like the
 * bus's, so an RPC that races shutdown answers UNAVAILABLE (retryable elsewhere).
 */
export class StateStoreClosedError extends UnavailableError {
  readonly code = 'STORE_CLOSED';
  constructor(kind: string) {
    super(`${kind} state store is closed`);
  }
}

// With the `u` flag a surrogate range matches only unpaired surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Keys are chosen by code, never by users, so a bad one is a programming
 * error: TypeError for a non-string, RangeError for an empty, oversized or
 * ill-formed one. Lone surrogates are refused because keys are stored as
 * UTF-8, where two different ones would collapse into the same U+FFFD key.
 */
export function validateStateKey(key: string): void {
  if (typeof key !== 'string') throw new TypeError(`state key must be a string, got ${typeof key}`);
  if (key === '') throw new RangeError('state key must not be empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_STATE_KEY_BYTES) {
    throw new RangeError(`state key '${key.slice(0, 40)}…' is ${bytes} UTF-8 bytes; the limit is ${MAX_STATE_KEY_BYTES}`);
  }
  if (LONE_SURROGATE.test(key)) throw new RangeError(`state key '${key}' contains an unpaired UTF-16 surrogate`);
}

/** A `keys()` prefix: any well-formed string, empty for all keys. */
export function validateStatePrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new TypeError(`state key prefix must be a string, got ${typeof prefix}`);
  if (LONE_SURROGATE.test(prefix)) throw new RangeError(`state key prefix '${prefix}' contains an unpaired UTF-16 surrogate`);
}

/**
 * Keys sorted by their UTF-8 bytes (= Unicode code point order), LMDB's native
 * order, so both adapters list keys identically. Differs from `Array.sort()`
 * (UTF-16 units) only for characters above U+FFFF against U+E000–U+FFFF.
 */
export function sortStateKeys(keys: string[]): string[] {
  return keys
    .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key }) => key);
}
