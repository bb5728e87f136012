/**
 * Edge validation shared by every service. Pure: imports nothing that does I/O,
 * so domain code may use it (`@ralm/platform/validate`) as well as handlers.
 */
import type { UserFeatures } from '@ralm/proto/common';
import { InvalidArgumentError } from './errors';

/** Ids are opaque strings: non-empty, at most 256 characters of printable text. */
const MAX_ID_LENGTH = 256;

/** What is wrong with an id, or undefined when it is valid; for callers that report rather than throw. */
export function idProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (value.length > MAX_ID_LENGTH) return `is longer than ${MAX_ID_LENGTH} characters`;
  // Control characters would corrupt logs, NATS subjects and store keys.
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains control characters';
  return undefined;
}

export function requireId(value: string, field: string): string {
  const problem = idProblem(value);
  if (problem) throw new InvalidArgumentError(field, problem);
  return value;
}

/**
 * Checks raw user features (`field` locates them, e.g. `features` or `users[3]`):
 * each value sets exactly one branch, and a number is finite, so NaN or
 * Infinity never reaches the model.
 */
export function requireUserFeatures(features: UserFeatures | undefined, field: string): void {
  for (const [name, value] of Object.entries(features?.fields ?? {})) {
    const set = [value.id !== undefined, value.ids !== undefined, value.number !== undefined].filter(Boolean).length;
    if (set !== 1) throw new InvalidArgumentError(`${field}.fields[${name}]`, 'exactly one of id, ids, number must be set');
    if (value.number !== undefined && !Number.isFinite(value.number)) {
      throw new InvalidArgumentError(`${field}.fields[${name}].number`, 'is not a finite number');
    }
  }
}

export function requireCount(length: number, field: string, min: number, max: number): void {
  if (length < min) throw new InvalidArgumentError(field, min === 1 ? 'must not be empty' : `needs at least ${min} entries`);
  if (length > max) throw new InvalidArgumentError(field, `has ${length} entries; at most ${max} allowed`);
}

export function requireIntInRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

export function requireFiniteVector(values: ArrayLike<number>, field: string, dimension: number): void {
  if (values.length !== dimension) throw new InvalidArgumentError(field, `has length ${values.length}; the model dimension is ${dimension}`);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new InvalidArgumentError(`${field}[${i}]`, 'is not a finite number');
  }
}
