/**
 * A sparse binary view of user features for the classic competitors (LR, the
 * Yahoo look-alike model), which work on one-hot features rather than on
 * learned embeddings.
 *
 * Every (field, value) of a univalent or multivalent field is one binary
 * feature; a continuous field becomes `bins` quantile bins (one active at a
 * time). The vocabulary and the bin edges come from the train users only, so a
 * value seen only in test users is dropped, as a model in production would
 * meet it.
 */
import type { Dataset } from '@ralm/data';

/** The binary user × feature matrix, in compressed sparse rows. */
export interface BinaryUserFeatures {
  /** Number of distinct features (ids are 0 … size − 1). */
  size: number;
  /** Human-readable name per feature id: `field=value`, or `field<edge`, `field∈[a,b)`, `field≥edge` for bins. */
  names: string[];
  /** Per user row (all users of the dataset): its active feature ids, ascending. Views into one shared buffer. */
  rows: Int32Array[];
}

export interface BinaryFeatureOptions {
  /** Quantile bins per continuous field (≥ 1; fewer when train values repeat). Default 5. */
  bins?: number;
}

/**
 * Builds the binary features of every user of `dataset`, with vocabulary and
 * bin edges taken from `trainUsers` (row indices). Deterministic: feature ids
 * follow the schema's field order, then the values' sorted order.
 */
export function binaryUserFeatures(dataset: Dataset, trainUsers: ArrayLike<number>, options: BinaryFeatureOptions = {}): BinaryUserFeatures {
  const bins = options.bins ?? 5;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const nUsers = dataset.users.ids.length;
  const names: string[] = [];
  // Per field, a function giving the user's feature ids (pushing into `out`).
  const encoders: Array<(u: number, out: number[]) => void> = [];

  for (const spec of dataset.schema.fields) {
    const column = dataset.users.fields.get(spec.name);
    if (!column) throw new Error(`users have no column '${spec.name}'`);
    if (column.kind === 'continuous') {
      const edges = quantileEdges(column.values, trainUsers, bins);
      if (!edges) continue; // no train user has a value: the field contributes nothing
      const base = names.length;
      for (let b = 0; b <= edges.length; b++) names.push(binName(spec.name, edges, b));
      const values = column.values;
      encoders.push((u, out) => {
        const v = values[u]!;
        if (Number.isFinite(v)) out.push(base + upperBound(edges, v));
      });
      continue;
    }
    const seen = new Set<string>();
    for (let r = 0; r < trainUsers.length; r++) {
      const v = column.values[trainUsers[r]!]!;
      if (typeof v === 'string') {
        if (v !== '') seen.add(v);
      } else for (const x of v) if (x !== '') seen.add(x);
    }
    const ids = new Map<string, number>();
    for (const value of [...seen].sort()) {
      ids.set(value, names.length);
      names.push(`${spec.name}=${value}`);
    }
    if (column.kind === 'univalent') {
      const values = column.values;
      encoders.push((u, out) => {
        const id = ids.get(values[u]!);
        if (id !== undefined) out.push(id);
      });
    } else {
      const values = column.values;
      encoders.push((u, out) => {
        for (const x of values[u]!) {
          const id = ids.get(x);
          if (id !== undefined) out.push(id);
        }
      });
    }
  }

  // Two passes would double the map lookups; one pass into a growable buffer is cheaper.
  const offsets = new Int32Array(nUsers + 1);
  let buffer = new Int32Array(Math.max(16, nUsers * 8));
  let used = 0;
  const scratch: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    scratch.length = 0;
    for (const encode of encoders) encode(u, scratch);
    scratch.sort((a, b) => a - b);
    if (used + scratch.length > buffer.length) {
      const grown = new Int32Array(Math.max(buffer.length * 2, used + scratch.length));
      grown.set(buffer.subarray(0, used));
      buffer = grown;
    }
    let previous = -1;
    for (const id of scratch) {
      if (id === previous) continue; // a multivalent field may repeat a value
      buffer[used++] = id;
      previous = id;
    }
    offsets[u + 1] = used;
  }
  const rows = new Array<Int32Array>(nUsers);
  for (let u = 0; u < nUsers; u++) rows[u] = buffer.subarray(offsets[u]!, offsets[u + 1]!);
  return { size: names.length, names, rows };
}

/**
 * Edges e_1 < … < e_m (m ≤ bins − 1) at the train values' j/bins quantiles;
 * bin b holds e_b ≤ v < e_{b+1} (bin 0 everything below e_1, the last bin
 * everything from e_m up, so test values outside the train range still land
 * in a bin). Undefined when no train user has a finite value.
 */
function quantileEdges(values: Float64Array, trainUsers: ArrayLike<number>, bins: number): number[] | undefined {
  const finite: number[] = [];
  for (let r = 0; r < trainUsers.length; r++) {
    const v = values[trainUsers[r]!]!;
    if (Number.isFinite(v)) finite.push(v);
  }
  if (finite.length === 0) return undefined;
  finite.sort((a, b) => a - b);
  const edges: number[] = [];
  for (let j = 1; j < bins; j++) {
    const edge = finite[Math.floor((j * finite.length) / bins)]!;
    // An edge at the minimum would leave bin 0 empty; repeated quantiles collapse.
    if (edge > finite[0]! && (edges.length === 0 || edge > edges[edges.length - 1]!)) edges.push(edge);
  }
  return edges;
}

function binName(field: string, edges: number[], b: number): string {
  if (edges.length === 0) return `${field}:any`;
  if (b === 0) return `${field}<${edges[0]}`;
  if (b === edges.length) return `${field}≥${edges[b - 1]}`;
  return `${field}∈[${edges[b - 1]},${edges[b]})`;
}

/** Number of edges ≤ v: the bin index of v. */
function upperBound(edges: number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Per-item sparse linear models over binary user features: the item's score
 * for user u is `bias + Σ_{f active in u} weight_f`.
 */
export interface SparseItemModel {
  bias: number;
  /** Feature ids with a non-zero weight, ascending. */
  features: Int32Array;
  weights: Float32Array;
}

/**
 * Scores pairs against per-item sparse linear models; items without a model
 * score `missing`. Pairs are grouped by item so each model is scattered once
 * into a dense scratch vector and every pair costs only its user's active
 * features — a binary search per feature would cost several times more.
 */
export function scoreSparseLinear(
  features: BinaryUserFeatures,
  models: ReadonlyArray<SparseItemModel | undefined>,
  users: Int32Array,
  items: Int32Array,
  missing = 0,
): Float32Array {
  const n = users.length;
  if (items.length !== n) throw new RangeError(`users (${n}) and items (${items.length}) differ in length`);
  const nItems = models.length;
  const nUsers = features.rows.length;
  const start = new Int32Array(nItems + 1);
  for (let p = 0; p < n; p++) {
    const i = items[p]!;
    const u = users[p]!;
    if (!(i >= 0 && i < nItems)) throw new RangeError(`item ${i} out of range [0, ${nItems})`);
    if (!(u >= 0 && u < nUsers)) throw new RangeError(`user ${u} out of range [0, ${nUsers})`);
    start[i + 1]!++;
  }
  for (let i = 0; i < nItems; i++) start[i + 1]! += start[i]!;
  const order = new Int32Array(n);
  const fill = start.slice(0, nItems);
  for (let p = 0; p < n; p++) order[fill[items[p]!]!++] = p;

  const out = new Float32Array(n);
  const dense = new Float32Array(features.size);
  for (let i = 0; i < nItems; i++) {
    const from = start[i]!;
    const to = start[i + 1]!;
    if (from === to) continue;
    const model = models[i];
    if (!model) {
      for (let t = from; t < to; t++) out[order[t]!] = missing;
      continue;
    }
    const { features: ids, weights } = model;
    for (let j = 0; j < ids.length; j++) dense[ids[j]!] = weights[j]!;
    for (let t = from; t < to; t++) {
      const p = order[t]!;
      const row = features.rows[users[p]!]!;
      let s = model.bias;
      for (let j = 0; j < row.length; j++) s += dense[row[j]!]!;
      out[p] = s;
    }
    for (let j = 0; j < ids.length; j++) dense[ids[j]!] = 0;
  }
  return out;
}
