/**
 * Area under the ROC curve by the rank-sum (Mann–Whitney U) statistic, with
 * tied scores sharing their average rank. NaN when one class is absent.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`scores (${n}) and labels (${labels.length}) differ in length`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (labels[order[t]!]! > 0) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * The look-alike metric proper: AUC within each item (which of its exposed users click),
 * averaged over the items that have both clicks and non-clicks. Any per-item constant (an
 * item prior, a per-item offset) leaves it unchanged; pooled AUC mixes that in.
 * @returns the mean and the number of items it averages (NaN and 0 when none qualifies)
 */
export function itemAveragedAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, items: ArrayLike<number>): { auc: number; items: number } {
  if (scores.length !== labels.length || items.length !== labels.length) throw new RangeError(`scores (${scores.length}), labels (${labels.length}) and items (${items.length}) differ in length`);
  const byItem = new Map<number, number[]>();
  for (let p = 0; p < items.length; p++) {
    let list = byItem.get(items[p]!);
    if (!list) byItem.set(items[p]!, (list = []));
    list.push(p);
  }
  let sum = 0;
  let n = 0;
  for (const list of byItem.values()) {
    const a = auc(list.map((p) => scores[p]!), list.map((p) => labels[p]!));
    if (Number.isNaN(a)) continue;
    sum += a;
    n++;
  }
  return { auc: n ? sum / n : Number.NaN, items: n };
}
