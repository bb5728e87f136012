/**
 * Ranking across candidates. The look-alike score says how much a user resembles a
 * candidate's seeds; it carries no prior for the candidate itself, so ranking many
 * candidates by it alone favours small, tight seed sets over what people actually read.
 * The paper uses the score as a weighting factor inside the CTR pipeline; for callers that
 * rank by RALM alone, the ranking score adds a log prior on the candidate's audience size:
 *
 *   ranking = score + γ · ln(1 + seeds)
 *
 * γ = 0 is the raw look-alike score. Within one candidate the prior is a constant, so it never
 * changes which users a candidate prefers (its per-candidate AUC); it only moves candidates
 * against each other. The scorer (ITEM_PRIOR_WEIGHT) and `ralm eval` both use this function.
 */
export function rankingScore(score: number, seeds: number, priorWeight: number): number {
  return priorWeight === 0 ? score : score + priorWeight * Math.log1p(Math.max(0, seeds));
}

/** The prior weight `ralm eval` reports its "+ seed-count prior" row with, and the scorer's default when enabled. */
export const DEFAULT_ITEM_PRIOR_WEIGHT = 0.05;
