/**
 * The on-disk format's shared rules: file names and order, the value grammar,
 * quoting, and the fingerprint. The reader and the writer both import these so
 * what one writes the other accepts.
 */
import { createHash } from 'node:crypto';
import type { FieldKind } from './types';

/** The dataset files, in the fixed order the fingerprint covers them. */
export const DATASET_FILES = ['schema.json', 'users.csv', 'items.csv', 'events.csv'] as const;
export type DatasetFile = (typeof DATASET_FILES)[number];

export const FIELD_KINDS: readonly FieldKind[] = ['univalent', 'multivalent', 'continuous'];
export const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const USER_ID = 'user_id';
export const ITEM_COLUMNS = ['item_id', 'category', 'tags'] as const;
export const EVENT_COLUMNS = ['user_id', 'item_id', 'timestamp', 'label'] as const;

/** Separator of the values of a multivalent field and of an item's tags. */
export const LIST_SEPARATOR = '|';

// Plain decimal or exponent notation only: Number() alone would also take
// '0x1f', ' 7 ', 'Infinity' and '', none of which a data file should mean.
export const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
export const UNSIGNED_INTEGER = /^\d+$/;

/** `''` is the empty list; anything else splits on `|`. */
export function splitList(raw: string): string[] {
  return raw === '' ? [] : raw.split(LIST_SEPARATOR);
}

const NEEDS_QUOTES = /[",\r\n]/;

/** RFC 4180 quoting, only where a value would otherwise break the row. */
export function quote(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Combines per-file digests the way `sha256sum schema.json users.csv items.csv
 * events.csv | sha256sum` does, so a fingerprint can be checked from a shell.
 * Hashing a manifest rather than the concatenated bytes keeps a row moved from
 * the end of one file to the start of the next from leaving the hash unchanged.
 */
export function combineFingerprint(fileDigests: Readonly<Record<DatasetFile, string>>): string {
  const manifest = DATASET_FILES.map((file) => `${fileDigests[file]}  ${file}\n`).join('');
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}
