/*
 * Everything per candidate that scoring reads (spec §5), laid out so that one product
 * U · rowsᵀ yields each user's 2k+1 dot products per candidate side by side.
 */

/** How a table stores its rows: float32 (the reference) or int8 with an affine map per row. */
export const TABLE_PRECISIONS = ['float32', 'int8'] as const;
export type TablePrecision = (typeof TABLE_PRECISIONS)[number];

interface TableShape {
  /** Candidates (slots), in row order. */
  readonly count: number;
  /** Clusters per candidate (slots per candidate; absent ones are masked). */
  readonly k: number;
  /** Look-alike embedding dimension. */
  readonly h: number;
  /** count × k × k: G = E_s E_sᵀ per candidate (float32 in every precision: 8 % of a float32 slot). */
  readonly gram: Float32Array;
  /** count × k: 1 for a real cluster, 0 for an absent one. */
  readonly mask: Uint8Array;
  /** Average pooling: score = (α + β)·cos(e_u, ĝ); P, E and G are not read. */
  readonly average: boolean;
}

export interface Float32Table extends TableShape {
  readonly precision?: 'float32';
  /**
   * count × (2k+1) × h, row-major. Per candidate: P_0..P_{k-1} (P = E_s W_l), then
   * E_0..E_{k-1} (the clusters in look-alike space), then ĝ (unit global vector, or the
   * unit size-weighted mean under average pooling). Rows of absent clusters are zero.
   */
  readonly rows: Float32Array;
}

/**
 * The same rows in a quarter of the bytes: row r's value t is scale[r]·codes[r·h + t] + offset[r],
 * with the 256 codes spread over the row's own [min, max] (affine rather than symmetric: the E and
 * ĝ rows of ReLU towers are non-negative, and a symmetric code would leave half its range unused).
 * Scoring is bound by reading the rows, so a quarter of the bytes is most of the speed-up.
 */
export interface Int8Table extends TableShape {
  readonly precision: 'int8';
  /** count × (2k+1) × h, in the float32 table's row order. */
  readonly codes: Int8Array;
  /** count × (2k+1) each. */
  readonly scale: Float32Array;
  readonly offset: Float32Array;
}

/** Everything per candidate that scoring reads, in either precision. */
export type KernelTable = Float32Table | Int8Table;

/** Rows per candidate in `KernelTable.rows`. */
export const rowsPerCandidate = (k: number) => 2 * k + 1;

/** An all-zero table of `count` slots (every cluster masked, so every score is 0 until written). */
export function createKernelTable(count: number, k: number, h: number, average: boolean, precision?: 'float32'): Float32Table;
export function createKernelTable(count: number, k: number, h: number, average: boolean, precision: 'int8'): Int8Table;
export function createKernelTable(count: number, k: number, h: number, average: boolean, precision?: TablePrecision): KernelTable;
export function createKernelTable(count: number, k: number, h: number, average: boolean, precision: TablePrecision = 'float32'): KernelTable {
  for (const [name, v] of [['count', count], ['k', k], ['h', h]] as const) {
    if (!Number.isInteger(v) || v < (name === 'count' ? 0 : 1)) throw new RangeError(`createKernelTable: ${name} must be a ${name === 'count' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  const shape = { count, k, h, gram: new Float32Array(count * k * k), mask: new Uint8Array(count * k), average };
  const n = count * rowsPerCandidate(k);
  if (precision === 'float32') return { ...shape, rows: new Float32Array(n * h) };
  if (precision === 'int8') return { ...shape, precision, codes: new Int8Array(n * h), scale: new Float32Array(n), offset: new Float32Array(n) };
  throw new RangeError(`createKernelTable: precision must be one of ${TABLE_PRECISIONS.join(', ')}, got ${String(precision)}`);
}

/** The precision a table stores its rows in. */
export const precisionOf = (table: KernelTable): TablePrecision => table.precision ?? 'float32';

/**
 * Stores one row of h values at row index r: copied for float32, encoded for int8 with the
 * 256 codes over [min, max] and the code rounded against the stored float32 scale and offset,
 * so that decoding is the nearest representable value (error ≤ scale/2 per value).
 */
function storeRow(table: KernelTable, r: number, values: ArrayLike<number>, from: number): void {
  const { h } = table;
  if (table.precision !== 'int8') {
    for (let t = 0; t < h; t++) table.rows[r * h + t] = values[from + t]!;
    return;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let t = 0; t < h; t++) {
    const v = values[from + t]!;
    if (!Number.isFinite(v)) throw new RangeError(`writeSlot: row ${r} holds ${v}; an int8 table stores finite values only`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = Math.fround((max - min) / 255);
  const offset = Math.fround(scale > 0 ? min + 128 * scale : min);
  table.scale[r] = scale;
  table.offset[r] = offset;
  for (let t = 0; t < h; t++) {
    const q = scale > 0 ? Math.round((values[from + t]! - offset) / scale) : 0;
    table.codes[r * h + t] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
}

/** Row r's value t as stored (decoded for int8). */
export function rowValue(table: KernelTable, r: number, t: number): number {
  return table.precision === 'int8' ? table.scale[r]! * table.codes[r * table.h + t]! + table.offset[r]! : table.rows[r * table.h + t]!;
}

/** Rows [r, r + n) as float32 values (a view for float32, decoded copies for int8). */
export function rowValues(table: KernelTable, r: number, n: number): Float32Array {
  const { h } = table;
  if (table.precision !== 'int8') return table.rows.subarray(r * h, (r + n) * h);
  const out = new Float32Array(n * h);
  for (let i = 0; i < n; i++) for (let t = 0; t < h; t++) out[i * h + t] = rowValue(table, r + i, t);
  return out;
}

/**
 * Writes candidate `c`'s slot in place (the service updates candidates one at a time).
 * es, projected: k × h; gram: k × k; globalUnit: h; mask: k (non-zero = real cluster).
 * Rows of masked clusters are written as zero whatever `es` and `projected` hold there.
 */
export function writeSlot(table: KernelTable, c: number, es: ArrayLike<number>, projected: ArrayLike<number>, gram: ArrayLike<number>, globalUnit: ArrayLike<number>, mask: ArrayLike<number>): void {
  const { k, h } = table;
  if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`writeSlot: candidate ${c} outside 0..${table.count - 1}`);
  const sizes: Array<[string, ArrayLike<number>, number]> = [['es', es, k * h], ['projected', projected, k * h], ['gram', gram, k * k], ['globalUnit', globalUnit, h], ['mask', mask, k]];
  for (const [name, a, n] of sizes) if (a.length !== n) throw new RangeError(`writeSlot: ${name} has length ${a.length}, expected ${n}`);
  const base = c * rowsPerCandidate(k);
  const zero = new Float32Array(h);
  for (let j = 0; j < k; j++) {
    const real = mask[j] !== 0;
    table.mask[c * k + j] = real ? 1 : 0;
    storeRow(table, base + j, real ? projected : zero, real ? j * h : 0);
    storeRow(table, base + k + j, real ? es : zero, real ? j * h : 0);
    for (let i = 0; i < k; i++) table.gram[(c * k + j) * k + i] = real && mask[i] !== 0 ? gram[j * k + i]! : 0;
  }
  storeRow(table, base + 2 * k, globalUnit, 0);
}

/** Empties slot `c`: no real cluster and a zero ĝ, so it scores 0 for every user. */
export function clearSlot(table: KernelTable, c: number): void {
  if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`clearSlot: candidate ${c} outside 0..${table.count - 1}`);
  const n = rowsPerCandidate(table.k);
  if (table.precision === 'int8') {
    table.codes.fill(0, c * n * table.h, (c + 1) * n * table.h);
    table.scale.fill(0, c * n, (c + 1) * n);
    table.offset.fill(0, c * n, (c + 1) * n);
  } else table.rows.fill(0, c * n * table.h, (c + 1) * n * table.h);
  table.gram.fill(0, c * table.k * table.k, (c + 1) * table.k * table.k);
  table.mask.fill(0, c * table.k, (c + 1) * table.k);
}

/** Candidate `c`'s parts, in `writeSlot`'s argument order (what a slot of another table is written from): views for float32, decoded copies for int8. */
export function slotParts(table: KernelTable, c: number): { es: Float32Array; projected: Float32Array; gram: Float32Array; globalUnit: Float32Array; mask: Uint8Array } {
  const { k, h } = table;
  if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`slotParts: candidate ${c} outside 0..${table.count - 1}`);
  const rows = rowValues(table, c * rowsPerCandidate(k), rowsPerCandidate(k));
  return {
    projected: rows.subarray(0, k * h),
    es: rows.subarray(k * h, 2 * k * h),
    globalUnit: rows.subarray(2 * k * h, (2 * k + 1) * h),
    gram: table.gram.subarray(c * k * k, (c + 1) * k * k),
    mask: table.mask.subarray(c * k, (c + 1) * k),
  };
}

/** Throws unless the table's arrays agree with count, k and h (kernels call it once per call). */
export function checkTable(table: KernelTable): void {
  const { count, k, h } = table;
  const n = count * rowsPerCandidate(k);
  const rows = table.precision === 'int8' ? table.codes.length === n * h && table.scale.length === n && table.offset.length === n : table.rows.length === n * h;
  if (!rows || table.gram.length !== count * k * k || table.mask.length !== count * k) {
    throw new RangeError(`KernelTable: arrays disagree with count ${count}, k ${k}, h ${h} (${precisionOf(table)})`);
  }
}

/** Each array of a table with the length one candidate takes in it. */
function slotArrays(table: KernelTable): Array<[Float32Array | Int8Array | Uint8Array, number]> {
  const { k, h } = table;
  const rows = rowsPerCandidate(k);
  const parts: Array<[Float32Array | Int8Array | Uint8Array, number]> = [
    [table.gram, k * k],
    [table.mask, k],
  ];
  if (table.precision === 'int8') parts.push([table.codes, rows * h], [table.scale, rows], [table.offset, rows]);
  else parts.push([table.rows, rows * h]);
  return parts;
}

/** Copies slot `from` over slot `to` (both in range), every array of the slot. */
export function moveSlot(table: KernelTable, from: number, to: number): void {
  for (const c of [from, to]) if (!Number.isInteger(c) || c < 0 || c >= table.count) throw new RangeError(`moveSlot: candidate ${c} outside 0..${table.count - 1}`);
  for (const [array, n] of slotArrays(table)) array.copyWithin(to * n, from * n, (from + 1) * n);
}

/** A table of `count` slots in the same precision, holding the first min(count, table.count) slots of `table` (copied). */
export function resizeTable(table: KernelTable, count: number): KernelTable {
  const next = createKernelTable(count, table.k, table.h, table.average, precisionOf(table));
  const keep = Math.min(count, table.count);
  const target = slotArrays(next);
  slotArrays(table).forEach(([array, n], i) => target[i]![0].set(array.subarray(0, keep * n)));
  return next;
}

/** The first `count` slots of `table` as a table of their own: views of the same memory, not copies. */
export function headView(table: KernelTable, count: number): KernelTable {
  return rangeView(table, 0, count);
}

/** Candidates [from, from + count) as a table of their own, over the same memory (views, not copies): one candidate's audience is scored through it. */
export function rangeView(table: KernelTable, from: number, count: number): KernelTable {
  if (!Number.isInteger(from) || !Number.isInteger(count) || from < 0 || count < 0 || from + count > table.count) {
    throw new RangeError(`rangeView: candidates ${from}..${from + count - 1} outside 0..${table.count - 1}`);
  }
  const { k, h } = table;
  const rows = rowsPerCandidate(k);
  const to = from + count;
  const shape = { count, k, h, average: table.average, gram: table.gram.subarray(from * k * k, to * k * k), mask: table.mask.subarray(from * k, to * k) };
  if (table.precision === 'int8') {
    return { ...shape, precision: 'int8', codes: table.codes.subarray(from * rows * h, to * rows * h), scale: table.scale.subarray(from * rows, to * rows), offset: table.offset.subarray(from * rows, to * rows) };
  }
  return { ...shape, rows: table.rows.subarray(from * rows * h, to * rows * h) };
}

/** The same candidates stored in `precision` (re-encoded from the values as stored). */
export function convertTable(table: KernelTable, precision: TablePrecision): KernelTable {
  const out = createKernelTable(table.count, table.k, table.h, table.average, precision);
  for (let c = 0; c < table.count; c++) {
    const p = slotParts(table, c);
    writeSlot(out, c, p.es, p.projected, p.gram, p.globalUnit, p.mask);
  }
  return out;
}

/** Bytes the table's arrays hold. */
export const tableBytes = (table: KernelTable): number => slotArrays(table).reduce((s, [array]) => s + array.byteLength, 0);
