/**
 * The two arms' recommenders. Control stands in for the upstream system: a simple CTR model,
 *   score(u, i) = ln ĉtr_i + ln lift_u(c_i),
 *   ĉtr_i = (clicks_i + 20·CTR) / (exposures_i + 20)             (item CTR, shrunk to the mean)
 *   lift_u(c) = [(clicks_u,c + 5·g_c) / (clicks_u + 5)] / g_c      (u's category click share
 *                                                                   against the global one)
 * from the history before the day. Treatment is the same ranking with a share of its slots
 * given to long-tail items' look-alike audiences. Neither shows an item twice to a user (the
 * same day or later), nor one the user read before the replay.
 */
import type { History } from './history';

const CTR_PRIOR = 20;
const CATEGORY_PRIOR = 5;

/** Control's parameters, for the report. */
export const CONTROL_PARAMETERS = { ctrPriorExposures: CTR_PRIOR, categoryPriorClicks: CATEGORY_PRIOR } as const;

/** What an arm shows next. */
export interface Pick {
  item: number;
  /** A look-alike extension: an extension slot that found a showable look-alike item. */
  extension: boolean;
  /** The impression was an extension slot (filled by control's ranking when `extension` is false). */
  extensionSlot: boolean;
}

/** One user's day with an arm: successive impressions, never one `skip` refuses. */
export interface Session {
  /** The next impression, or undefined when nothing showable is left. */
  next(skip: (item: number) => boolean): Pick | undefined;
}

/** Control's ranking model, re-estimated from the history at the start of every day. */
export class ControlRecommender {
  private logCtr = new Float64Array(0);
  private byCategory: Int32Array[] = [];
  private logShare = new Float64Array(0);

  constructor(private readonly history: History) {}

  /** Re-estimates item CTRs and category shares from the history so far. */
  refresh(): void {
    const h = this.history;
    const mean = h.totalExposures > 0 ? h.totalClicks / h.totalExposures : 0.5;
    this.logCtr = Float64Array.from(h.itemExposures, (e, i) => Math.log((h.itemClicks[i]! + CTR_PRIOR * mean) / (e + CTR_PRIOR)));
    const nCat = h.categoryClicks.length;
    this.logShare = Float64Array.from(h.categoryClicks, (c) => Math.log((c + 1) / (h.totalClicks + nCat)));
    const lists: number[][] = Array.from({ length: nCat }, () => []);
    h.catalog.category.forEach((c, i) => lists[c]!.push(i));
    // Within a category the user's lift is the same for every item, so its items rank by CTR alone.
    this.byCategory = lists.map((l) => Int32Array.from(l.sort((a, b) => this.logCtr[b]! - this.logCtr[a]! || a - b)));
  }

  /** u's ranking for the day: the best item `skip` lets through, merged across categories. */
  session(u: number): Session {
    const h = this.history;
    const clicks = h.userClicks[u]!;
    const own = h.userCategoryClicks[u];
    const lift = Float64Array.from(this.logShare, (logG, c) => Math.log(((own?.get(c) ?? 0) + CATEGORY_PRIOR * Math.exp(logG)) / (clicks + CATEGORY_PRIOR)) - logG);
    const at = new Int32Array(this.byCategory.length);
    return {
      next: (skip) => {
        let best = -1;
        let bestScore = -Infinity;
        for (let c = 0; c < this.byCategory.length; c++) {
          const list = this.byCategory[c]!;
          while (at[c]! < list.length && (skip(list[at[c]!]!) || h.hasSeen(u, list[at[c]!]!))) at[c]!++;
          if (at[c]! === list.length) continue;
          const item = list[at[c]!]!;
          const score = this.logCtr[item]! + lift[c]!;
          if (score > bestScore || (score === bestScore && item < best)) {
            best = item;
            bestScore = score;
          }
        }
        return best < 0 ? undefined : { item: best, extension: false, extensionSlot: false };
      },
    };
  }
}

/**
 * Treatment: control's ranking, except that impression j is an extension slot when
 * ⌊(j+1)·s + φ⌋ > ⌊j·s + φ⌋ (s the extension share, φ ∈ [0, 1) drawn per user-day), which
 * spreads slots evenly at rate s, engagement extras included. An extension slot takes the
 * user's best look-alike item (`extensions`, best first, already above the threshold) that
 * is still showable; when none is left it falls back to control's next item.
 */
export function treatmentSession(control: Session, extensions: Int32Array, share: number, phase: number, seen: (item: number) => boolean): Session {
  let j = 0;
  let at = 0;
  return {
    next: (skip) => {
      const slot = Math.floor((j + 1) * share + phase) > Math.floor(j * share + phase);
      j++;
      if (slot) {
        while (at < extensions.length && (skip(extensions[at]!) || seen(extensions[at]!))) at++;
        if (at < extensions.length) return { item: extensions[at++]!, extension: true, extensionSlot: true };
      }
      const pick = control.next(skip);
      return pick && { ...pick, extensionSlot: slot };
    },
  };
}
