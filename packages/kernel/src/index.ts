export {
  createKernelTable,
  writeSlot,
  clearSlot,
  slotParts,
  checkTable,
  rowsPerCandidate,
  rowValue,
  rowValues,
  precisionOf,
  TABLE_PRECISIONS,
  moveSlot,
  resizeTable,
  headView,
  rangeView,
  convertTable,
  tableBytes,
  type KernelTable,
  type Float32Table,
  type Int8Table,
  type TablePrecision,
} from './table';
export type { ScoringKernel } from './kernel';
export { referenceKernel } from './reference';
export { typescriptKernel } from './typescript';
export { loadKernel, loadNativeKernel, nativeAddRows, nativeNearestCentroids, nativeStatus, ADDON_PATH, type AddRows, type NativeStatus, type NearestCentroids } from './native';
export { explainCandidate, type Explanation } from './explain';
export { rankingScore, DEFAULT_ITEM_PRIOR_WEIGHT } from './prior';
export { topAgreement } from './fidelity';
