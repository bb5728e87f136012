import { status as Status, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
  UnauthenticatedError,
  PermissionDeniedError,
} from '../errors';
import { OverloadedError } from './admission';

type ErrorClass = abstract new (...args: never[]) => Error;

/** The one error → status table. Order matters only for subclasses (none today). */
const TABLE: ReadonlyArray<readonly [ErrorClass, Status]> = [
  [InvalidArgumentError, Status.INVALID_ARGUMENT],
  [NotFoundError, Status.NOT_FOUND],
  [FailedPreconditionError, Status.FAILED_PRECONDITION],
  [AlreadyExistsError, Status.ALREADY_EXISTS],
  [UnavailableError, Status.UNAVAILABLE],
  [DeadlineExceededError, Status.DEADLINE_EXCEEDED],
  [CancelledError, Status.CANCELLED],
  [ResourceExhaustedError, Status.RESOURCE_EXHAUSTED],
  [AbortedError, Status.ABORTED],
  [UnimplementedError, Status.UNIMPLEMENTED],
  [UnauthenticatedError, Status.UNAUTHENTICATED],
  [PermissionDeniedError, Status.PERMISSION_DENIED],
];

/** Every code a handler can end with besides OK: the table's, and INTERNAL for the rest. */
export const ERROR_CODE_NAMES: readonly string[] = [...TABLE.map(([, code]) => Status[code]!), 'INTERNAL'];

export interface MappedStatus {
  code: Status;
  details: string;
  metadata: Metadata;
  /** False for INTERNAL: the original error must be logged, not sent. */
  expected: boolean;
}

/**
 * Longest status message sent, bytes. A message may quote what the caller sent (a path,
 * an id): a 1 MB value must not come back as a 1 MB error, in the reply or in the logs.
 */
export const MAX_DETAILS_BYTES = 1024;

/** `text` cut to at most `maxBytes` of UTF-8, on a character boundary, marked when cut. */
export function boundedText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = ` … (${Buffer.byteLength(text, 'utf8')} bytes, cut)`;
  const bytes = Buffer.from(text, 'utf8').subarray(0, maxBytes - Buffer.byteLength(marker));
  // A cut inside a multi-byte character decodes to U+FFFD: drop it.
  return bytes.toString('utf8').replace(/\uFFFD+$/, '') + marker;
}

export function toGrpcStatus(err: unknown): MappedStatus {
  const metadata = new Metadata();
  for (const [cls, code] of TABLE) {
    if (err instanceof cls) {
      // Metadata values must be printable ASCII: a field path quoting a map key may not be.
      if (err instanceof InvalidArgumentError) metadata.set('ralm-field', boundedText(err.field, 256).replace(/[^\x20-\x7e]/g, '?'));
      // gRFC A6: a client's retry policy waits this long before its next attempt.
      if (err instanceof OverloadedError) metadata.set('grpc-retry-pushback-ms', String(err.retryAfterMs));
      return { code, details: boundedText(err.message, MAX_DETAILS_BYTES), metadata, expected: true };
    }
  }
  return { code: Status.INTERNAL, details: 'internal error', metadata, expected: false };
}

export function toServiceError(mapped: MappedStatus): Partial<ServiceError> {
  return { code: mapped.code, details: mapped.details, metadata: mapped.metadata, message: mapped.details };
}

/** Name of a status code for metric labels and logs, e.g. `NOT_FOUND`. */
export function statusName(code: Status): string {
  return Status[code] ?? String(code);
}
