/**
 * A dataset in memory, column-oriented so a million users fit comfortably.
 * Users and items are referred to by their row index in `users.ids` / `items.ids`.
 */

export type FieldKind = 'univalent' | 'multivalent' | 'continuous';

export interface FieldSpec {
  /** Column name in users.csv; [A-Za-z_][A-Za-z0-9_]*, not `user_id`. */
  name: string;
  kind: FieldKind;
}

export interface Schema {
  fields: FieldSpec[];
}

/** One user field's column: a value per user row. */
export type FieldColumn =
  /** univalent: the id, or '' when missing */
  | { kind: 'univalent'; values: string[] }
  /** multivalent: the ids (possibly empty) */
  | { kind: 'multivalent'; values: string[][] }
  /** continuous: the raw number, or NaN when missing */
  | { kind: 'continuous'; values: Float64Array };

export interface Users {
  ids: string[];
  /** Keyed by field name, in schema order. */
  fields: Map<string, FieldColumn>;
}

export interface Items {
  ids: string[];
  category: string[];
  tags: string[][];
}

export interface Events {
  /** Row index into users.ids. */
  user: Int32Array;
  /** Row index into items.ids. */
  item: Int32Array;
  /** Unix seconds. */
  timestamp: Float64Array;
  /** 1 = click/read, 0 = exposure without click. */
  label: Uint8Array;
}

export interface Dataset {
  schema: Schema;
  users: Users;
  items: Items;
  events: Events;
  /**
   * `sha256:<hex>` over the four files' bytes, in a fixed order: equal fingerprints mean the same data.
   * Precisely: sha256 of the manifest `sha256sum schema.json users.csv items.csv events.csv` prints
   * (`<hex>  <name>\n` per file), so a shell can check it. `synthesize` sets the fingerprint its
   * files would have once written by `writeDataset`.
   */
  fingerprint: string;
}
