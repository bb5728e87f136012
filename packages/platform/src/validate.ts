/**
 * Edge validation shared by every service. Pure: imports nothing that does I/O,
 * so domain code may use it (`@ralm/platform/validate`) as well as handlers.
 */
import type { UserFeatures } from '@ralm/proto/common';
import { InvalidArgumentError } from './errors';

/** Ids are opaque strings: non-empty, at most 256 bytes of UTF-8 printable text (the protos' "1..256 bytes"). */
export const MAX_ID_BYTES = 256;

/** Ids in one multivalent feature field (the protos' IdList). */
export const MAX_FEATURE_IDS = 1_000;

/** Longer than `maxBytes` in UTF-8? Checks the cheap bound first: a UTF-8 character is 1..4 bytes. */
export function overBytes(value: string, maxBytes: number): boolean {
  if (value.length <= maxBytes / 4) return false;
  return value.length > maxBytes || Buffer.byteLength(value, 'utf8') > maxBytes;
}

/** What is wrong with an id, or undefined when it is valid; for callers that report rather than throw. */
export function idProblem(value: string): string | undefined {
  if (value.length === 0) return 'is required';
  if (overBytes(value, MAX_ID_BYTES)) return `is longer than ${MAX_ID_BYTES} bytes of UTF-8`;
  // Control characters would corrupt logs, NATS subjects and store keys.
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains control characters';
  return undefined;
}

export function requireId(value: string, field: string): string {
  const problem = idProblem(value);
  if (problem) throw new InvalidArgumentError(field, problem);
  return value;
}

/** How a model reads a feature field: one id, a set of ids, or a number (the dataset schema's kinds). */
export type FeatureKind = 'univalent' | 'multivalent' | 'continuous';

const BRANCH: Record<FeatureKind, 'id' | 'ids' | 'number'> = { univalent: 'id', multivalent: 'ids', continuous: 'number' };

/**
 * Checks the shape of raw user features (`field` locates them, e.g. `features` or
 * `users[3]`), whatever model will read them, so a malformed request is refused as
 * such even when no model is loaded: each value sets exactly one branch; ids are
 * valid ids, at most MAX_FEATURE_IDS per field; a number is finite, so NaN or
 * Infinity never reaches the model.
 */
export function requireUserFeatures(features: UserFeatures | undefined, field: string): void {
  for (const [name, value] of Object.entries(features?.fields ?? {})) {
    const at = `${field}.fields[${name}]`;
    const set = (['id', 'ids', 'number'] as const).filter((b) => value[b] !== undefined);
    if (set.length !== 1) throw new InvalidArgumentError(at, 'exactly one of id, ids, number must be set');
    if (value.id !== undefined) requireId(value.id, `${at}.id`);
    else if (value.ids !== undefined) {
      requireCount(value.ids.values.length, `${at}.ids.values`, 0, MAX_FEATURE_IDS);
      value.ids.values.forEach((id, i) => requireId(id, `${at}.ids.values[${i}]`));
    } else if (!Number.isFinite(value.number)) throw new InvalidArgumentError(`${at}.number`, 'is not a finite number');
  }
}

/**
 * Checks raw user features against the schema of the model that will read them and
 * returns them as the model's raw input: every field is one the schema has, and sets
 * the branch its kind reads (after the shape checks of requireUserFeatures).
 */
export function requireRawFeatures(
  features: UserFeatures | undefined,
  schema: ReadonlyMap<string, FeatureKind>,
  field: string,
  modelVersion: string,
): Record<string, string | string[] | number> {
  requireUserFeatures(features, field);
  const raw: Record<string, string | string[] | number> = {};
  for (const [name, value] of Object.entries(features?.fields ?? {})) {
    const at = `${field}.fields[${name}]`;
    const kind = schema.get(name);
    if (kind === undefined) throw new InvalidArgumentError(at, `is not a field of model '${modelVersion}' (fields: ${[...schema.keys()].join(', ')})`);
    const branch = value.id !== undefined ? 'id' : value.ids !== undefined ? 'ids' : 'number';
    if (branch !== BRANCH[kind]) throw new InvalidArgumentError(at, `is a ${kind} field: set ${BRANCH[kind]}, not ${branch}`);
    raw[name] = value.id ?? value.ids?.values ?? value.number!;
  }
  return raw;
}

/** A proto enum value the contract defines (ts-proto hands unknown numbers through as they came). */
export function requireEnum<E extends Record<string, string | number>>(value: number, values: E, field: string): E[keyof E] {
  // ts-proto adds UNRECOGNIZED = -1 to every enum: never a value a caller may send.
  if (value < 0 || typeof values[value] !== 'string') {
    const known = Object.entries(values).filter(([, v]) => typeof v === 'number' && v >= 0).map(([k, v]) => `${v} (${k})`);
    throw new InvalidArgumentError(field, `${value} is not a value of this enum (${known.join(', ')})`);
  }
  return value as E[keyof E];
}

/** An int64 the decoder handed over as a double: exact only within ±(2^53 - 1). */
export function requireSafeInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(field, `must be an integer within ±(2^53 - 1), got ${value}`);
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
