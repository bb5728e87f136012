/** How NATS adapters (the bus, the state store) report a NATS they cannot reach. */
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import { UnavailableError } from './errors';

const TRANSPORT_ERRORS = [TimeoutError, ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError];

/** True for a NATS transport failure: no server, timed out, connection closed or draining. */
export function isNatsTransportError(err: unknown): boolean {
  return TRANSPORT_ERRORS.some((cls) => err instanceof cls);
}

/**
 * Transport failures become UnavailableError (`<component>: <what> failed: …`)
 * so callers answer UNAVAILABLE and may retry; the original stays as `cause`.
 * Anything else (API errors, bad input) passes through unchanged.
 */
export function asUnavailable(err: unknown, component: string, what: string): unknown {
  if (err instanceof UnavailableError || !isNatsTransportError(err)) return err;
  return new UnavailableError(`${component}: ${what} failed: ${(err as Error).message}`, { cause: err });
}
