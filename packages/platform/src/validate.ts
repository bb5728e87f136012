import { InvalidArgumentError } from './errors';

/** Ids are opaque strings: non-empty, at most 256 bytes of printable text. */
const MAX_ID_LENGTH = 256;

export function requireId(value: string, field: string): string {
  if (value.length === 0) throw new InvalidArgumentError(field, 'is required');
  if (value.length > MAX_ID_LENGTH) throw new InvalidArgumentError(field, `is longer than ${MAX_ID_LENGTH} characters`);
  // Control characters would corrupt logs, NATS subjects and store keys.
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidArgumentError(field, 'contains control characters');
  return value;
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
