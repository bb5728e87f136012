import {
  status as Status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CancelledError, DeadlineExceededError, InvalidArgumentError } from '../errors';
import type { RpcMetrics } from '../metrics';
import { Admission, type MethodLimit } from './admission';
import { Undecodable } from './codec';
import type { CallContext, ServiceBinding } from './handlers';
import { authorize, type Authenticator } from '../security/auth';
import { ERROR_CODE_NAMES, statusName, toGrpcStatus, toServiceError } from './status';

/** The part of every server call shape this file uses. */
type AnyCall = Pick<ServerUnaryCall<unknown, unknown>, 'getDeadline' | 'metadata' | 'getAuthContext'> & NodeJS.EventEmitter;

export interface BindDeps {
  metrics: RpcMetrics;
  logger: Logger;
  /** Per-method limits that override the service's defaults, keyed `Service/Method` or `Method` (config RPC_LIMITS). */
  limits?: Readonly<Record<string, MethodLimit>>;
  /** Set when GRPC_AUTH=required: every call proves its caller and is checked against RPC_POLICY before it may queue. */
  authenticator?: Authenticator;
}

/**
 * Limits of a method nobody configured. A unary call waits its turn (bounded);
 * a stream may live for minutes, so waiting behind one is pointless: refuse at once.
 */
export const DEFAULT_UNARY_LIMIT: MethodLimit = { concurrency: 64, queue: 256 };
export const DEFAULT_STREAM_LIMIT: MethodLimit = { concurrency: 64, queue: 0 };

/** Deadline of a call in unix ms; grpc-js reports "none" as Infinity. */
function deadlineOf(call: AnyCall): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Context plus a `finish` that clears timers and records metrics exactly once. */
function openCall(method: string, call: AnyCall, deps: BindDeps) {
  const started = process.hrtime.bigint();
  const controller = new AbortController();
  const deadlineMs = deadlineOf(call);
  let timer: NodeJS.Timeout | undefined;
  if (deadlineMs !== undefined) {
    const left = deadlineMs - Date.now();
    if (left <= 0) controller.abort(new DeadlineExceededError());
    else timer = setTimeout(() => controller.abort(new DeadlineExceededError()), left);
  }
  // grpc-js ends an expired call itself and reports it as 'cancelled'; keep the real cause.
  const onCancel = () =>
    controller.abort(deadlineMs !== undefined && Date.now() >= deadlineMs ? new DeadlineExceededError() : new CancelledError());
  call.once('cancelled', onCancel);
  const ctx: CallContext = {
    method,
    signal: controller.signal,
    deadlineMs,
    metadata: call.metadata,
    throwIfDone() {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
  };
  let finished = false;
  const finish = (err: unknown): ReturnType<typeof toGrpcStatus> | undefined => {
    if (finished) return undefined;
    finished = true;
    if (timer) clearTimeout(timer);
    call.removeListener('cancelled', onCancel);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (err === undefined) {
      deps.metrics.duration.observe({ method, code: 'OK' }, seconds);
      return undefined;
    }
    const mapped = toGrpcStatus(err);
    const code = statusName(mapped.code);
    deps.metrics.duration.observe({ method, code }, seconds);
    deps.metrics.errors.inc({ method, code });
    if (mapped.expected) deps.logger.debug({ method, code, details: mapped.details }, 'rpc failed');
    else deps.logger.error({ method, err }, 'rpc failed with an unexpected error');
    return mapped;
  };
  return { ctx, finish };
}

/**
 * Creates the method's series at 0 before its first call. Prometheus's rate() sees a
 * series only from its first scrape on, so a counter born at 1 hides its first event:
 * without this, the first error of a kind would never show in an error-ratio alert.
 */
function zeroSeries(method: string, metrics: RpcMetrics): void {
  metrics.duration.zero({ method, code: 'OK' });
  for (const code of ERROR_CODE_NAMES) metrics.errors.inc({ method, code }, 0);
}

/** `Service/Method` and `Method` names of a binding's RPCs: what RPC_LIMITS keys may be. */
export function methodNames(binding: ServiceBinding): string[] {
  const shortName = binding.name.split('.').pop()!;
  return Object.values(binding.definition as Record<string, MethodDefinition<unknown, unknown>>).flatMap((def) => {
    const rpc = def.path.split('/').pop()!;
    return [rpc, `${shortName}/${rpc}`];
  });
}

function refuseUndecodable(message: unknown): void {
  if (message instanceof Undecodable) throw new InvalidArgumentError('request', `could not be decoded as the method's request message: ${message.reason}`);
}

/** The stream's messages, with an undecodable one refused as INVALID_ARGUMENT where it stands. */
async function* decoded(messages: AsyncIterable<unknown>): AsyncIterable<unknown> {
  for await (const message of messages) {
    refuseUndecodable(message);
    yield message;
  }
}

/** Adapts typed handlers to grpc-js' callback-style implementation, one wrapper per call shape. */
export function toImplementation(binding: ServiceBinding, deps: BindDeps): UntypedServiceImplementation {
  const definition = binding.definition as Record<string, MethodDefinition<unknown, unknown>>;
  const handlers = binding.handlers as Record<string, (...args: never[]) => Promise<unknown>>;
  const shortName = binding.name.split('.').pop()!;
  const impl: UntypedServiceImplementation = {};
  const policy = binding.admission as { limits?: Record<string, MethodLimit>; cost?: Record<string, (request: unknown) => number> };
  const observer = {
    shed: (method: string, reason: string) => deps.metrics.shed.inc({ method, reason }),
    load: (method: string, running: number, queued: number) => {
      deps.metrics.running.set({ method }, running);
      deps.metrics.queued.set({ method }, queued);
    },
  };
  for (const [key, def] of Object.entries(definition)) {
    const handler = handlers[key] as (...args: unknown[]) => Promise<unknown>;
    if (typeof handler !== 'function') throw new Error(`${binding.name}: no handler for ${key}`);
    const rpcName = def.path.split('/').pop()!;
    const method = `${shortName}/${rpcName}`;
    zeroSeries(method, deps.metrics);
    const limit =
      deps.limits?.[method] ?? deps.limits?.[rpcName] ?? policy.limits?.[key] ?? (def.requestStream || def.responseStream ? DEFAULT_STREAM_LIMIT : DEFAULT_UNARY_LIMIT);
    const admission = new Admission(method, limit, observer);
    observer.load(method, 0, 0);
    const costOf = policy.cost?.[key];
    const authenticator = deps.authenticator;
    // Before admission: a caller that cannot prove a role never takes a turn or a queue slot.
    const checkCaller = (call: AnyCall): Promise<void> =>
      authenticator
        ? authenticator.authenticate({ metadata: call.metadata, peerCertificate: call.getAuthContext()?.sslPeerCertificate }).then((identity) => authorize(identity, method))
        : Promise.resolve();
    /** Checks the caller, waits for a turn, then runs the handler; the turn is given back when the handler itself settles. */
    const admitted = <T>(call: AnyCall, work: () => Promise<T>, ctx: CallContext, request?: unknown): Promise<T> =>
      run(
        () =>
          checkCaller(call).then(() => admission.acquire(ctx.signal, ctx.deadlineMs, costOf && request !== undefined && !(request instanceof Undecodable) ? costOf(request) : 1)).then((release) => {
            const working = Promise.resolve().then(() => {
              ctx.throwIfDone();
              return work();
            });
            void working.then(release, release);
            return working;
          }),
        ctx,
      );
    if (!def.requestStream && !def.responseStream) {
      impl[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const { ctx, finish } = openCall(method, call, deps);
        admitted(call, () => (refuseUndecodable(call.request), handler(call.request, ctx)), ctx, call.request).then(
          (response) => {
            finish(undefined);
            callback(null, response);
          },
          (err: unknown) => {
            const mapped = finish(err);
            if (mapped) callback(toServiceError(mapped));
          },
        );
      };
    } else if (def.requestStream && !def.responseStream) {
      impl[key] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const { ctx, finish } = openCall(method, call, deps);
        admitted(call, () => handler(decoded(call as AsyncIterable<unknown>), ctx), ctx).then(
          (response) => {
            finish(undefined);
            callback(null, response);
          },
          (err: unknown) => {
            const mapped = finish(err);
            if (mapped) callback(toServiceError(mapped));
          },
        );
      };
    } else if (!def.requestStream && def.responseStream) {
      impl[key] = (call: ServerWritableStream<unknown, unknown>) => {
        const { ctx, finish } = openCall(method, call, deps);
        const send = (response: unknown) =>
          new Promise<void>((resolve, reject) => {
            ctx.throwIfDone();
            if (call.write(response)) return resolve();
            // A cancelled or expired call never drains: settle on the abort too, so the
            // handler's `await send()` throws instead of hanging forever.
            const onDrain = () => {
              ctx.signal.removeEventListener('abort', onAbort);
              resolve();
            };
            const onAbort = () => {
              call.removeListener('drain', onDrain);
              reject(ctx.signal.reason);
            };
            call.once('drain', onDrain);
            ctx.signal.addEventListener('abort', onAbort, { once: true });
          });
        admitted(call, () => (refuseUndecodable(call.request), handler(call.request, ctx, send)), ctx, call.request).then(
          () => {
            finish(undefined);
            call.end();
          },
          (err: unknown) => {
            const mapped = finish(err);
            if (mapped) call.emit('error', toServiceError(mapped));
          },
        );
      };
    } else {
      impl[key] = (call: ServerDuplexStream<unknown, unknown>) => {
        call.emit('error', { code: Status.UNIMPLEMENTED, details: `${method}: bidirectional streams are not supported` });
      };
    }
  }
  return impl;
}

/**
 * Runs a handler but settles as soon as the call is over: the caller gets
 * DEADLINE_EXCEEDED / CANCELLED on time even if the handler ignores its signal.
 */
function run<T>(work: () => Promise<T>, ctx: CallContext): Promise<T> {
  if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(work)
      .then(resolve, reject)
      .finally(() => ctx.signal.removeEventListener('abort', onAbort));
  });
}
