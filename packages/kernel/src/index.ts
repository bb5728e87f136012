export { createKernelTable, writeSlot, clearSlot, slotParts, checkTable, rowsPerCandidate, type KernelTable } from './table';
export type { ScoringKernel } from './kernel';
export { referenceKernel } from './reference';
export { typescriptKernel } from './typescript';
export { loadKernel, loadNativeKernel, nativeStatus, ADDON_PATH, type NativeStatus } from './native';
export { explainCandidate, type Explanation } from './explain';
export { rankingScore, DEFAULT_ITEM_PRIOR_WEIGHT } from './prior';
