import { explainCandidate } from './explain';
import { checkSubset, scoreOutput, type ScoringKernel } from './kernel';
import type { KernelTable } from './table';

/** One (user, candidate) score written as the spec states it, in double (explain.ts): the oracle the fast kernels are tested against. */
function scoreOne(table: KernelTable, c: number, eu: Float32Array, ub: number, alpha: number, beta: number): number {
  return explainCandidate(table, c, eu.subarray(ub, ub + table.h), alpha, beta).score;
}

/** Plain per-(user, candidate) TypeScript: slow, obviously right. */
export const referenceKernel: ScoringKernel = {
  name: 'reference',
  score(table, eu, batch, alpha, beta, out) {
    const result = scoreOutput(table, eu, batch, out);
    for (let b = 0; b < batch; b++) for (let c = 0; c < table.count; c++) result[b * table.count + c] = scoreOne(table, c, eu, b * table.h, alpha, beta);
    return result;
  },
  scoreSubset(table, eu, candidates, alpha, beta) {
    checkSubset(table, eu, candidates);
    return Float32Array.from(candidates, (c) => scoreOne(table, c, eu, 0, alpha, beta));
  },
};
