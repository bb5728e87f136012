import type { Metadata } from '@grpc/grpc-js';
import type { MethodLimit } from './admission';

/**
 * What a handler may know about its call. Handlers never see grpc-js call
 * objects or callbacks; the adapters in bind.ts translate.
 */
export interface CallContext {
  /** `Service/Method`, e.g. `SeedCollectorService/ReportClicks`. */
  readonly method: string;
  /** Aborted when the caller cancels or its deadline passes; pass it to long work. */
  readonly signal: AbortSignal;
  /** Caller's deadline in unix ms, or undefined when none was set. */
  readonly deadlineMs: number | undefined;
  readonly metadata: Metadata;
  /** Throws DeadlineExceededError / CancelledError once the call is over; call between chunks of work. */
  throwIfDone(): void;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;
export type ClientStreamHandler<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>;
/** Writes responses with `send` (which waits for flow control) and resolves when the stream should end. */
export type ServerStreamHandler<Req, Res> = (request: Req, ctx: CallContext, send: (response: Res) => Promise<void>) => Promise<void>;

type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer R } ? R : never;
type ResponseOf<M> = M extends { responseSerialize: (value: infer R) => Buffer } ? R : never;

type HandlerFor<M> = M extends { requestStream: false; responseStream: false }
  ? UnaryHandler<RequestOf<M>, ResponseOf<M>>
  : M extends { requestStream: true; responseStream: false }
    ? ClientStreamHandler<RequestOf<M>, ResponseOf<M>>
    : M extends { requestStream: false; responseStream: true }
      ? ServerStreamHandler<RequestOf<M>, ResponseOf<M>>
      : never;

/** The handler map for a ts-proto generated service definition: one typed handler per RPC. */
export type Handlers<D> = { [K in keyof D]: HandlerFor<D[K]> };

/**
 * A service's own view of its methods' load: the default limits (config's RPC_LIMITS
 * overrides them) and, for a method whose calls differ widely in work, what one call
 * costs in the limit's units (ScoreBatch: its users).
 */
export interface AdmissionPolicy<D> {
  readonly limits?: { readonly [K in keyof D]?: MethodLimit };
  readonly cost?: { readonly [K in keyof D]?: (request: RequestOf<D[K]>) => number };
}

/** A generated service definition with its handlers, ready to be added to a server. */
export interface ServiceBinding<D = unknown> {
  /** Fully qualified proto name, e.g. `ralm.v1.SeedCollectorService` (health and reflection use it). */
  readonly name: string;
  readonly definition: D;
  readonly handlers: Handlers<D>;
  readonly admission: AdmissionPolicy<D>;
}

export function bindService<D>(name: string, definition: D, handlers: Handlers<D>, admission: AdmissionPolicy<D> = {}): ServiceBinding<D> {
  return { name, definition, handlers, admission };
}
