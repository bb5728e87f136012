import { status as Status, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
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
  [UnimplementedError, Status.UNIMPLEMENTED],
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

export function toGrpcStatus(err: unknown): MappedStatus {
  const metadata = new Metadata();
  for (const [cls, code] of TABLE) {
    if (err instanceof cls) {
      if (err instanceof InvalidArgumentError) metadata.set('ralm-field', err.field);
      // gRFC A6: a client's retry policy waits this long before its next attempt.
      if (err instanceof OverloadedError) metadata.set('grpc-retry-pushback-ms', String(err.retryAfterMs));
      return { code, details: err.message, metadata, expected: true };
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
