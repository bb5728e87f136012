/**
 * Confidence intervals for relative changes by the user-level bootstrap: users are the
 * randomisation unit, so each replicate redraws each arm's users with replacement (as many
 * as the arm has), recomputes every statistic on the drawn users and takes the relative
 * change; the interval is the percentile interval of the replicates. A paired comparison
 * (the same users under two policies, which only a simulation has) draws the users once
 * per replicate for both sides.
 */
import { relativeChange } from '@ralm/experiment';
import type { Rng } from '@ralm/model';

/** A relative change (treatment / control − 1) with its bootstrap interval. */
export interface ChangeEstimate {
  control: number;
  treatment: number;
  /** relativeChange(treatment, control): +0.05 is a 5% rise; NaN when undefined. */
  change: number;
  /** Percentile interval bounds; NaN when no replicate gave a finite change. */
  low: number;
  high: number;
  /** Replicates with a finite change (the others are left out of the interval). */
  finiteReplicates: number;
}

/** How many times each of n units is drawn in n draws with replacement. */
export function resampleCounts(n: number, rng: Rng): Float64Array {
  const counts = new Float64Array(n);
  for (let j = 0; j < n; j++) counts[rng.int(n)]!++;
  return counts;
}

/** The q-quantile (0 ≤ q ≤ 1) of ascending values, interpolating linearly between order statistics. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const at = q * (n - 1);
  const lo = Math.floor(at);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Relative changes of m statistics, treatment against control, with `level` percentile
 * intervals from `replicates` user-level bootstrap replicates.
 * @param statistic the m statistics of one arm, its users counted `weights[j]` times
 *   (undefined: every user once, the point estimate)
 * @param options.paired the two "arms" are the same users under two policies: each
 *   replicate draws the users once and weighs both sides alike (sizes must be equal)
 */
export function bootstrapRelativeChanges(
  sizes: { control: number; treatment: number },
  statistic: (arm: 'control' | 'treatment', weights?: Float64Array) => number[],
  options: { replicates: number; rng: Rng; level?: number; paired?: boolean },
): ChangeEstimate[] {
  if (options.paired && sizes.control !== sizes.treatment) throw new RangeError(`a paired bootstrap needs the same users on both sides, got ${sizes.control} and ${sizes.treatment}`);
  const level = options.level ?? 0.95;
  const control = statistic('control');
  const treatment = statistic('treatment');
  const samples = control.map(() => [] as number[]);
  for (let b = 0; b < options.replicates; b++) {
    const cw = resampleCounts(sizes.control, options.rng);
    const c = statistic('control', cw);
    const t = statistic('treatment', options.paired ? cw : resampleCounts(sizes.treatment, options.rng));
    c.forEach((cv, m) => {
      const r = relativeChange(t[m]!, cv);
      if (Number.isFinite(r)) samples[m]!.push(r);
    });
  }
  return control.map((cv, m) => {
    const sorted = Float64Array.from(samples[m]!).sort();
    return {
      control: cv,
      treatment: treatment[m]!,
      change: relativeChange(treatment[m]!, cv),
      low: quantile(sorted, (1 - level) / 2),
      high: quantile(sorted, 1 - (1 - level) / 2),
      finiteReplicates: sorted.length,
    };
  });
}
