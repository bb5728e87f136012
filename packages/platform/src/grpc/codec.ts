import { configureTextEncoding } from '@bufbuild/protobuf/wire';

/**
 * Makes every protobuf string decode as strict UTF-8. The library's default replaces
 * invalid bytes with U+FFFD, so two different byte strings became one id (one
 * candidate, one user). Process-wide: the bus's events are encoded by us and always
 * valid. `configureTextEncoding` is deprecated in favour of a global TextDecoder, but
 * installing one would change decoding for everything else in the process too.
 */
let strict = false;
export function useStrictUtf8(): void {
  if (strict) return;
  strict = true;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  configureTextEncoding({
    encodeUtf8: (text: string) => encoder.encode(text),
    encodeUtf8Into: (text: string, into: Uint8Array) => encoder.encodeInto(text, into),
    decodeUtf8: (bytes: Uint8Array) => decoder.decode(bytes),
    checkUtf8: (text: string) => (text as string & { isWellFormed?(): boolean }).isWellFormed?.() ?? true,
  });
}

/** A request grpc-js could not decode: handed to the handler wrapper, which refuses it by name. */
export class Undecodable {
  constructor(readonly reason: string) {}
}

/**
 * The definition with each request decoder made total: a decode error (truncated
 * bytes, invalid UTF-8) becomes an `Undecodable` instead of a throw, which grpc-js
 * would answer as INTERNAL without saying what was wrong.
 */
export function withTotalDecoders<D extends object>(definition: D): D {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(definition as Record<string, { requestDeserialize(bytes: Buffer): unknown }>)) {
    const decode = def.requestDeserialize;
    out[key] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new Undecodable(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return out as D;
}
