/** Pieces both bus adapters share: logging, errors, redelivery back-off. */

import { UnavailableError } from '../errors';
import type { Delivery, DropReason, SubscribeOptions } from './port';

/** The slice of a pino logger the bus uses; a pino `Logger` satisfies it. */
export interface BusLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: BusLogger = { info() {}, warn() {}, error() {} };

/**
 * Publish or subscribe on a bus that `close()` has already closed. An
 * UnavailableError, so an RPC that hits it answers UNAVAILABLE (retryable).
 */
export class BusClosedError extends UnavailableError {
  readonly code = 'BUS_CLOSED';
  constructor(kind: string) {
    super(`${kind} event bus is closed`);
  }
}

/** Defaults the port documents on `SubscribeOptions`. */
export const DEFAULT_ACK_WAIT_SECONDS = 30;
export const DEFAULT_MAX_ACK_PENDING = 256;
export const DEFAULT_MAX_DELIVER = 20;
/** JetStream's default `duplicate_window`. */
export const DEFAULT_DUPLICATE_WINDOW_SECONDS = 120;
export const DEFAULT_REDELIVERY_DELAY_MS = 1000;
const MAX_REDELIVERY_DELAY_MS = 30_000;

/**
 * Delay before redelivering a message whose handler threw on its
 * `deliveryCount`-th delivery: `base`, doubling per failure, capped at 30 s,
 * so a poison message costs little while a brief outage recovers quickly.
 */
export function redeliveryDelay(baseMs: number, deliveryCount: number): number {
  const exponent = Math.min(Math.max(deliveryCount - 1, 0), 16);
  return Math.min(baseMs * 2 ** exponent, Math.max(baseMs, MAX_REDELIVERY_DELAY_MS));
}

/** `value` when it is a positive finite number, else `fallback` (options treat 0 as "default"). */
export function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** `SubscribeOptions.inactiveAfterSeconds` in ms; 0 (keep forever) when unset, 0 or not a positive number. */
export function inactiveAfterMs(options: Pick<SubscribeOptions, 'inactiveAfterSeconds'>): number {
  return positive(options.inactiveAfterSeconds, 0) * 1000;
}

export function requireDurable(durable: string): void {
  if (typeof durable !== 'string' || durable.trim() === '') {
    throw new TypeError('subscribe: options.durable must be a non-empty string');
  }
}

export function requireStartSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new TypeError(`subscribe: options.startSeq must be a positive integer, got ${seq}`);
}

export function requireStartTime(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new TypeError(`subscribe: options.startTimeMs must be a non-negative integer, got ${ms}`);
}

export function errorFields(err: unknown): { err: { name: string; message: string; ids?: readonly string[] } } {
  // ids: what the message quotes, for the logger to tag (logger.ts).
  const ids = err instanceof Error ? (err as Error & { ids?: readonly string[] }).ids : undefined;
  return err instanceof Error
    ? { err: { name: err.name, message: err.message, ...(ids?.length ? { ids } : {}) } }
    : { err: { name: 'NonError', message: String(err) } };
}

const DROP_MESSAGES: Record<DropReason, string> = {
  undecodable: 'bus message does not decode; terminated',
  max_deliver: 'bus handler failed on every delivery; message terminated',
};

/** Logs a message the bus gives up on, at error level, and tells the subscriber. */
export function reportDropped(
  logger: BusLogger,
  durable: string,
  reason: DropReason,
  delivery: Delivery,
  err: unknown,
  onDropped: SubscribeOptions['onDropped'],
): void {
  const { subject, streamSeq, deliveryCount } = delivery;
  logger.error({ subject, durable, streamSeq, deliveryCount, reason, ...errorFields(err) }, DROP_MESSAGES[reason]);
  try {
    onDropped?.(reason, delivery);
  } catch (hookErr) {
    logger.warn({ durable, ...errorFields(hookErr) }, 'bus onDropped hook threw');
  }
}

/**
 * Requests travel outside the stream: a subject under the stream's `ralm.v1.>` would be
 * stored and answered by JetStream itself. Every request subject begins with this.
 */
export const RPC_SUBJECT_PREFIX = 'ralm.rpc.';

export function requireRpcSubject(subject: string): void {
  if (!subject.startsWith(RPC_SUBJECT_PREFIX)) throw new RangeError(`request subject '${subject}' must begin with ${RPC_SUBJECT_PREFIX} (the stream would store it)`);
}
