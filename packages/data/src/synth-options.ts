// The generator's options, their defaults and their validation.

/** Weights of the click model's logit (see synth.ts for the model). */
export interface ClickModel {
  /** Weight of the user–item interest affinity (affinity ∈ [0, 1]). Default 4. */
  affinity: number;
  /** Weight of the item's popularity term (∈ [0, 1]). Default 1.5. */
  popularity: number;
  /** Intercept; sets the base click rate (about 14% of exposures with the defaults). Default −5. */
  bias: number;
  /** Standard deviation of the per-exposure logit noise. Default 0.5. */
  noise: number;
  /** Standard deviation of the per-user click propensity. Default 0.5. */
  userSpread: number;
}

export interface SynthOptions {
  /** Number of users, 1 … 10,000,000 (memory grows linearly: about 1 KiB a user with the defaults). */
  users: number;
  /** Number of items, ≥ 1. */
  items: number;
  /** Any safe integer; the same seed and options give the same dataset, byte for byte. */
  seed: number;
  /** Length of the event window in days, > 0. Default 14. */
  days?: number;
  /** Start of the event window, unix seconds. Default 1704067200 (2024-01-01T00:00:00Z). */
  start?: number;
  /** Number of latent topics, 2 … 1000. Default 24. */
  topics?: number;
  /** Number of item categories, 1 … topics; topic t belongs to category t mod categories. Default 8. */
  categories?: number;
  /** Tags in each topic's pool, ≥ 2. Default 12. */
  tagsPerTopic?: number;
  /** Generic tags any item may carry, ≥ 1. Default 20. */
  genericTags?: number;
  /** Number of regions (the `region` field's vocabulary), ≥ 1. Default 12. */
  regions?: number;
  /** Mean exposures per user over the window, > 0. Default 20. */
  meanExposures?: number;
  /** Zipf exponent of item popularity, ≥ 0. Default 1.1. */
  zipfExponent?: number;
  /** Probability, in [0, 1], that an exposure comes from the user's interests rather than global popularity. Default 0.5. */
  interestShare?: number;
  /** Click model weights; missing keys take their defaults. */
  click?: Partial<ClickModel>;
}

const DEFAULT_CLICK: ClickModel = { affinity: 4, popularity: 1.5, bias: -5, noise: 0.5, userSpread: 0.5 };

/** The options with every default filled in. */
export type Resolved = Required<Omit<SynthOptions, 'click'>> & { click: ClickModel };

/** @throws RangeError for an option out of its documented range */
export function resolve(o: SynthOptions): Resolved {
  const r: Resolved = {
    users: o.users,
    items: o.items,
    seed: o.seed,
    days: o.days ?? 14,
    start: o.start ?? 1_704_067_200,
    topics: o.topics ?? 24,
    categories: o.categories ?? 8,
    tagsPerTopic: o.tagsPerTopic ?? 12,
    genericTags: o.genericTags ?? 20,
    regions: o.regions ?? 12,
    meanExposures: o.meanExposures ?? 20,
    zipfExponent: o.zipfExponent ?? 1.1,
    interestShare: o.interestShare ?? 0.5,
    click: { ...DEFAULT_CLICK, ...o.click },
  };
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`synthesize: ${what}`);
  };
  const int = (v: number, lo: number, hi = Infinity) => Number.isInteger(v) && v >= lo && v <= hi;
  check(int(r.users, 1, 10_000_000), `users must be an integer in [1, 10000000], got ${r.users}`);
  check(int(r.items, 1, 2 ** 31 - 1), `items must be a positive integer, got ${r.items}`);
  check(Number.isSafeInteger(r.seed), `seed must be a safe integer, got ${r.seed}`);
  check(Number.isFinite(r.days) && r.days > 0, `days must be > 0, got ${r.days}`);
  check(int(r.start, 0, Number.MAX_SAFE_INTEGER - r.days * 86400), `start must be a non-negative integer, got ${r.start}`);
  check(int(r.topics, 2, 1000), `topics must be an integer in [2, 1000], got ${r.topics}`);
  check(int(r.categories, 1, r.topics), `categories must be an integer in [1, topics], got ${r.categories}`);
  check(int(r.tagsPerTopic, 2), `tagsPerTopic must be an integer ≥ 2, got ${r.tagsPerTopic}`);
  check(int(r.genericTags, 1), `genericTags must be an integer ≥ 1, got ${r.genericTags}`);
  check(int(r.regions, 1), `regions must be an integer ≥ 1, got ${r.regions}`);
  check(Number.isFinite(r.meanExposures) && r.meanExposures > 0, `meanExposures must be > 0, got ${r.meanExposures}`);
  check(Number.isFinite(r.zipfExponent) && r.zipfExponent >= 0, `zipfExponent must be ≥ 0, got ${r.zipfExponent}`);
  check(r.interestShare >= 0 && r.interestShare <= 1, `interestShare must be in [0, 1], got ${r.interestShare}`);
  for (const [k, v] of Object.entries(r.click)) check(Number.isFinite(v), `click.${k} must be finite, got ${v}`);
  check(r.click.noise >= 0 && r.click.userSpread >= 0, 'click.noise and click.userSpread must be ≥ 0');
  return r;
}
