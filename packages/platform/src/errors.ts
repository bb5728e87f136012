/**
 * Typed domain errors. Handlers throw these; `toGrpcStatus` (grpc/status.ts)
 * maps them to gRPC codes in one table. Anything else becomes INTERNAL with a
 * generic message, so stack traces and internals never leak to callers.
 */

export interface RalmErrorOptions {
  cause?: unknown;
  /**
   * The user, item or event ids the message quotes. The caller gets the message whole; a
   * log line at info and above shows them as keyed tags (logger.ts).
   */
  ids?: readonly string[];
}

abstract class RalmError extends Error {
  declare readonly ids: readonly string[];
  constructor(message: string, options?: RalmErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    // Not enumerable: a logged error must not write the ids out as a field of its own.
    Object.defineProperty(this, 'ids', { value: options?.ids ?? [], enumerable: false });
  }
}

/**
 * The request is malformed. `field` is the path of the offending field, e.g.
 * `clicks[3].user_id`; `reason` says what is wrong with it, without the path, so
 * a caller that relocates the error (`message[2].` + field) can rebuild the message.
 */
export class InvalidArgumentError extends RalmError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

// Kinds of entity whose ids name a person's activity (a job id does not).
const IDENTITY_KINDS = new Set(['candidate', 'item', 'user', 'event']);

/** A named entity does not exist. */
export class NotFoundError extends RalmError {
  constructor(readonly kind: string, readonly id: string, detail?: string) {
    super(`${kind} '${id}' not found${detail ? `: ${detail}` : ''}`, { ids: IDENTITY_KINDS.has(kind) ? [id] : [] });
  }
}

/** The request is valid but the system is not in a state to serve it (no model loaded, candidate retired). */
export class FailedPreconditionError extends RalmError {}

/** An entity that must be unique already exists. */
export class AlreadyExistsError extends RalmError {}

/** A dependency (bus, store, another service) cannot be reached; the caller may retry. */
export class UnavailableError extends RalmError {}

/** A request on the bus found no one serving its subject (bus.request): as opposed to an answer that did not come in time. */
export class NoResponderError extends UnavailableError {
  constructor(subject: string, options?: RalmErrorOptions) {
    super(`no one serves ${subject} (is its owner running?)`, options);
  }
}

/** The caller's deadline passed before the work finished. */
export class DeadlineExceededError extends RalmError {
  constructor(message = 'deadline exceeded') {
    super(message);
  }
}

/** The caller cancelled the call. */
export class CancelledError extends RalmError {
  constructor(message = 'cancelled by the caller') {
    super(message);
  }
}

/** Work was cut short by a concurrent change (a listing whose owner restarted): retrying from the start succeeds. */
export class AbortedError extends RalmError {}

/** A limit was hit (queue full, too many concurrent jobs). */
export class ResourceExhaustedError extends RalmError {}

/** The caller did not prove who it is (no verified client certificate, no valid bearer token). */
export class UnauthenticatedError extends RalmError {}

/** The caller is known but none of its roles may call this method (security/policy.ts). */
export class PermissionDeniedError extends RalmError {}

/** The RPC exists in the contract but its capability is not built in this version. */
export class UnimplementedError extends RalmError {}

/**
 * Stored state is damaged (a corrupt journal record, a truncated database, a snapshot
 * whose checksum fails): the service must not start on it, and says where. A service's
 * main exits 65 (EX_DATAERR) on it; `ralm repair` salvages what is intact where it can.
 */
export class StorageCorruptError extends RalmError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Configuration is missing or malformed; `key` names the environment variable. */
export class ConfigError extends RalmError {
  constructor(readonly key: string, reason: string) {
    super(`config ${key}: ${reason}`);
  }
}

/** A typed error as it crosses from a partition's owner back to the replica that asked. */
export interface WireError {
  name: string;
  message: string;
  field?: string;
  reason?: string;
  ids?: readonly string[];
}

const WIRE_CLASSES: Record<string, abstract new (...args: never[]) => Error> = {
  InvalidArgumentError,
  NotFoundError,
  FailedPreconditionError,
  AlreadyExistsError,
  UnavailableError,
  DeadlineExceededError,
  CancelledError,
  ResourceExhaustedError,
  AbortedError,
  UnauthenticatedError,
  PermissionDeniedError,
  UnimplementedError,
};

export function errorToWire(err: unknown): WireError {
  // A subclass (a closed store's UnavailableError, an OverloadedError) travels as the nearest class the table knows.
  const name = err instanceof RalmError ? Object.entries(WIRE_CLASSES).find(([, cls]) => err instanceof cls)?.[0] : undefined;
  if (err instanceof RalmError && name) {
    const { field, reason } = err as Partial<InvalidArgumentError>;
    return { name, message: err.message, ...(field !== undefined ? { field, reason } : {}), ...(err.ids.length ? { ids: err.ids } : {}) };
  }
  // Anything else is a fault of the owner: the asker answers INTERNAL, as the owner would.
  return { name: 'Error', message: err instanceof Error ? err.message : String(err) };
}

/** The same class, message and fields, so the one status table (grpc/status.ts) maps it as the owner would have. */
export function errorFromWire(wire: WireError): Error {
  const cls = WIRE_CLASSES[wire.name];
  if (!cls) return new Error(wire.message);
  const err = Object.create(cls.prototype as object) as Error & Record<string, unknown>;
  Object.defineProperties(err, {
    message: { value: wire.message, writable: true, configurable: true },
    name: { value: wire.name, writable: true, configurable: true },
    ids: { value: wire.ids ?? [], enumerable: false },
    stack: { value: `${wire.name}: ${wire.message}\n    (answered by the partition's owner)`, writable: true, configurable: true },
  });
  if (wire.field !== undefined) Object.assign(err, { field: wire.field, reason: wire.reason });
  return err;
}
