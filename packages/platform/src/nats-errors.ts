/** How NATS adapters (the bus, the state store) report a NATS they cannot reach. */
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { UnavailableError } from './errors';

const TRANSPORT_ERRORS = [TimeoutError, ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError];

/** True for a NATS transport failure: no server, timed out, connection closed or draining. */
export function isNatsTransportError(err: unknown): boolean {
  return TRANSPORT_ERRORS.some((cls) => err instanceof cls);
}

/**
 * JetStream out of room: the server's storage (or the account's) is full, or a stream
 * limit refuses the write. Retryable once space is freed, unlike a malformed request.
 */
const RESOURCE_CODES = new Set([10023, 10028, 10047, 10077]);
const RESOURCE_TEXT = /insufficient (storage|resources)|resources exceeded|maximum (bytes|messages)|storage.*(full|exceeded)/i;

/** True for a JetStream refusal for lack of room (see RESOURCE_CODES). */
export function isJetStreamResourceError(err: unknown): boolean {
  if (err instanceof JetStreamApiError && RESOURCE_CODES.has(err.code)) return true;
  return (err instanceof JetStreamApiError || err instanceof JetStreamError) && RESOURCE_TEXT.test((err as Error).message);
}

/**
 * Transport failures become UnavailableError (`<component>: <what> failed: …`)
 * so callers answer UNAVAILABLE and may retry; the original stays as `cause`.
 * So do JetStream's refusals for lack of room. Anything else (API errors, bad input)
 * passes through unchanged.
 */
export function asUnavailable(err: unknown, component: string, what: string): unknown {
  if (err instanceof UnavailableError) return err;
  if (isJetStreamResourceError(err)) {
    return new UnavailableError(`${component}: ${what} failed: JetStream is out of room (${(err as Error).message}); nothing was stored, retry once space is freed`, { cause: err });
  }
  if (!isNatsTransportError(err)) return err;
  return new UnavailableError(`${component}: ${what} failed: ${(err as Error).message}`, { cause: err });
}
