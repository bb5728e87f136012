import path from 'node:path';
import { checkSubset, scoreOutput, type ScoringKernel } from './kernel';
import type { KernelTable } from './table';
import { typescriptKernel } from './typescript';

/** The addon's exports (native/kernel.c); it checks every length again before touching memory. */
interface Addon {
  score(rows: Float32Array, gram: Float32Array, mask: Uint8Array, k: number, h: number, average: boolean, eu: Float32Array, batch: number, alpha: number, beta: number, out: Float32Array): void;
  scoreSubset(rows: Float32Array, gram: Float32Array, mask: Uint8Array, k: number, h: number, average: boolean, eu: Float32Array, candidates: Int32Array, alpha: number, beta: number, out: Float32Array): void;
  scoreInt8(codes: Int8Array, scale: Float32Array, offset: Float32Array, gram: Float32Array, mask: Uint8Array, k: number, h: number, average: boolean, eu: Float32Array, batch: number, alpha: number, beta: number, out: Float32Array): void;
  scoreSubsetInt8(codes: Int8Array, scale: Float32Array, offset: Float32Array, gram: Float32Array, mask: Uint8Array, k: number, h: number, average: boolean, eu: Float32Array, candidates: Int32Array, alpha: number, beta: number, out: Float32Array): void;
  nearest(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, assignments: Int32Array, distances: Float32Array | Float64Array): void;
  addRows(rows: Float32Array, n: number, width: number, groups: Int32Array, sums: Float64Array): void;
  config(): string;
  isas(): string[];
  useIsa(name: string): void;
}

/**
 * The k-means assignment step (nearest of k centroids for each of n points, squared
 * distance ‖x‖² − 2x·c + ‖c‖²) with the dot products by OpenBLAS sgemm: float32 products
 * as scikit-learn takes them for float32 input, norms in double.
 */
export type NearestCentroids = (points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, assignments: Int32Array, distances: Float32Array | Float64Array) => void;

/**
 * Adds each of n rows (width floats) into row groups[i] of sums (whole rows of width, in
 * double): the member sums of a k-means update, read once at memory speed. Throws a
 * RangeError, before any sum moves, when a group is outside sums.
 */
export type AddRows = (rows: Float32Array, n: number, width: number, groups: Int32Array, sums: Float64Array) => void;

/** Where `make native` (native/build.sh, node-gyp) leaves the addon. */
export const ADDON_PATH = path.join(__dirname, '..', 'build', 'Release', 'ralm_kernel.node');

/** What loading the addon gave, once per process. */
export type NativeStatus =
  | {
      loaded: true;
      kernel: ScoringKernel;
      nearest: NearestCentroids;
      addRows: AddRows;
      /** OpenBLAS's build and core, and the int8 loops chosen at load (the best instruction set the CPU has). */
      blas: string;
      /** The int8 loops this CPU can run, best first (avx512, avx2, generic). */
      isas: readonly string[];
      /** Runs the int8 loops of one of `isas` from now on, for the whole process (tests compare each with the reference). */
      useIsa(name: string): void;
    }
  | { loaded: false; reason: string };

let status: NativeStatus | undefined;

function wrap(addon: Addon): ScoringKernel {
  const shape = (table: KernelTable) => [table.gram, table.mask, table.k, table.h, table.average] as const;
  return {
    name: 'native-openblas',
    score(table, eu, batch, alpha, beta, out) {
      const result = scoreOutput(table, eu, batch, out);
      if (table.count === 0) return result;
      if (table.precision === 'int8') addon.scoreInt8(table.codes, table.scale, table.offset, ...shape(table), eu, batch, alpha, beta, result);
      else addon.score(table.rows, ...shape(table), eu, batch, alpha, beta, result);
      return result;
    },
    scoreSubset(table, eu, candidates, alpha, beta) {
      checkSubset(table, eu, candidates);
      const out = new Float32Array(candidates.length);
      if (table.precision === 'int8') addon.scoreSubsetInt8(table.codes, table.scale, table.offset, ...shape(table), eu, candidates, alpha, beta, out);
      else addon.scoreSubset(table.rows, ...shape(table), eu, candidates, alpha, beta, out);
      return out;
    },
  };
}

/** Loads the OpenBLAS addon once; the reason it failed otherwise (e.g. not built, libopenblas missing). */
export function nativeStatus(): NativeStatus {
  if (!status) {
    try {
      const addon = require(ADDON_PATH) as Addon;
      status = { loaded: true, kernel: wrap(addon), nearest: addon.nearest.bind(addon), addRows: addon.addRows.bind(addon), blas: addon.config(), isas: addon.isas(), useIsa: addon.useIsa.bind(addon) };
    } catch (err) {
      status = { loaded: false, reason: (err as Error).message.split('\n')[0]! };
    }
  }
  return status;
}

/** The native kernel; throws with the load failure when the addon is unavailable. */
export function loadNativeKernel(): ScoringKernel {
  const s = nativeStatus();
  if (!s.loaded) throw new Error(`native kernel unavailable: ${s.reason} (build it with \`make native\`)`);
  return s.kernel;
}

/** The native kernel when its addon loads, else the TypeScript one (log `kernel.name`, and `nativeStatus()` for why). */
export function loadKernel(): ScoringKernel {
  const s = nativeStatus();
  return s.loaded ? s.kernel : typescriptKernel;
}

/** The native assignment step when the addon loads; undefined otherwise (the TypeScript kernel then runs). */
export function nativeNearestCentroids(): NearestCentroids | undefined {
  const s = nativeStatus();
  return s.loaded ? s.nearest : undefined;
}

/** The native member sums when the addon loads; undefined otherwise (the TypeScript loop then runs). */
export function nativeAddRows(): AddRows | undefined {
  const s = nativeStatus();
  return s.loaded ? s.addRows : undefined;
}
