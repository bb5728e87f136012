/**
 * Synthetic v2: a test bed where look-alike matters (docs/DATA.md, "synthetic v2").
 *
 * v1 (synth.ts) stays for comparison. v1 gives the median item 4 seeds, repeats (user, item)
 * pairs with independent clicks, has no item lifetimes and a click logit almost linear in the
 * binary tag fields, so a per-item regression or an untrained cosine is as good as anything.
 * v2 changes exactly those things, each for a reason:
 *
 * - Items are born over the period (`catalogShare` evergreen items exist from the start) and
 *   their exposure rate decays as exp(−age / lifetimeDays): the items of the test window are
 *   young, and the popular ones gather hundreds to thousands of seeds within days — the
 *   real-time case the paper serves.
 * - A user is exposed to an item at most once: a test click is never a repeat of a train click.
 * - An item has 1–3 topics, its audience *modes*; interest in any one of them is enough
 *   (affinity = max over its topics, not a sum), so the seeds are the union of distinct
 *   groups of users, and a target resembles one mode, not their mean.
 * - The click is not linear in the observed fields: a latent `style` (format preference)
 *   multiplies the topic affinity for the items that are style-sensitive (a conjunction), and
 *   topics are never observed directly, only through noisy partial tag lists.
 * - Fourteen user fields of mixed relevance, four of them pure noise, so the attention merge
 *   has something to weigh.
 *
 * Click logit per exposure:
 *   bias + affinity·a + style·conj + quality·q + propensity_u + noise·N(0,1)
 * with affinity = max_{t ∈ topics(i)} √w_u(t) ∈ [0, 1], conj = affinity·(+1 if the user's
 * style is the item's, −0.5 otherwise) on style-sensitive items (0 on the rest), quality =
 * 1 − ln(rank)/ln(items) of the item's base popularity.
 */
import { fingerprintOf } from './serialize';
import { Rng, WeightedSampler } from './rng';
import { drawInterests } from './synth-world';
import { writeDataset } from './write';
import type { Dataset, Events, FieldColumn, Schema } from './types';

export interface SynthV2Options {
  users: number;
  items: number;
  seed: number;
  /** Window length in days. Default 14. */
  days?: number;
  /** Unix seconds of the window start. Default 1704067200. */
  start?: number;
  /** Latent topics (audience modes). Default 32. */
  topics?: number;
  /** Item categories; topic t is in category t mod categories. Default 8. */
  categories?: number;
  /** Tags per topic pool. Default 12. */
  tagsPerTopic?: number;
  /** Latent styles (format preferences). Default 4. */
  styles?: number;
  /** Mean exposures per user over the window. Default 50. */
  meanExposures?: number;
  /** Share of items that are evergreen catalog items, present from the start with no decay (at a third of the rate). Default 0.15. */
  catalogShare?: number;
  /** e-folding time of a new item's exposure rate, in days. Default 3. */
  lifetimeDays?: number;
  /** Zipf exponent of base popularity. Default 0.8. */
  zipfExponent?: number;
  /** Probability that an exposure is drawn from the user's interests rather than from everything alive. Default 0.6. */
  interestShare?: number;
  click?: Partial<ClickModelV2>;
}

export interface ClickModelV2 {
  /** Weight of the topic affinity. Default 3.5. */
  affinity: number;
  /** Weight of the style conjunction on style-sensitive items. Default 2. */
  style: number;
  /** Weight of base quality. Default 0.8. */
  quality: number;
  /** Intercept; about 13% of exposures are clicked with the defaults. Default −4. */
  bias: number;
  /** Per-exposure noise sd. Default 0.5. */
  noise: number;
  /** Per-user propensity sd. Default 0.5. */
  userSpread: number;
}

const DEFAULT_CLICK: ClickModelV2 = { affinity: 3.5, style: 2, quality: 0.8, bias: -4, noise: 0.5, userSpread: 0.5 };

type ResolvedV2 = Required<Omit<SynthV2Options, 'click'>> & { click: ClickModelV2 };

/** The fourteen fields of v2, with what each carries (see docs/DATA.md). */
export const SYNTH_V2_SCHEMA: Schema = {
  fields: [
    { name: 'interest_tags', kind: 'multivalent' }, // noisy partial tags of every interest: strong
    { name: 'recent_tags', kind: 'multivalent' }, // tags of one interest only: medium, partial
    { name: 'interest_categories', kind: 'multivalent' }, // categories, dropped and added at random: medium
    { name: 'style_hint', kind: 'univalent' }, // the latent style 60% of the time: matters only with a topic
    { name: 'region', kind: 'univalent' }, // leans on the main interest: weak
    { name: 'gender', kind: 'univalent' }, // leans on the main interest: weak
    { name: 'age', kind: 'continuous' }, // leans on the main interest: weak
    { name: 'city_tier', kind: 'univalent' }, // leans on propensity: weak
    { name: 'activity', kind: 'continuous' }, // log of the exposure rate: weak
    { name: 'device', kind: 'univalent' }, // none
    { name: 'os_version', kind: 'univalent' }, // none
    { name: 'signup_channel', kind: 'univalent' }, // none
    { name: 'lucky_number', kind: 'continuous' }, // none
    { name: 'account_age', kind: 'continuous' }, // none
  ],
};

const MAX_INTERESTS = 4;
const INTEREST_COUNT_WEIGHTS = [0.25, 0.35, 0.25, 0.15];
const ITEM_TOPIC_COUNT_WEIGHTS = [0.35, 0.4, 0.25]; // 1, 2, 3 audience modes
const STYLE_SENSITIVE = 0.6;
const SLOT_SECONDS = 3 * 3600;
const RETRIES = 6;

function resolveV2(o: SynthV2Options): ResolvedV2 {
  const r: ResolvedV2 = {
    users: o.users,
    items: o.items,
    seed: o.seed,
    days: o.days ?? 14,
    start: o.start ?? 1_704_067_200,
    topics: o.topics ?? 32,
    categories: o.categories ?? 8,
    tagsPerTopic: o.tagsPerTopic ?? 12,
    styles: o.styles ?? 4,
    meanExposures: o.meanExposures ?? 50,
    catalogShare: o.catalogShare ?? 0.15,
    lifetimeDays: o.lifetimeDays ?? 3,
    zipfExponent: o.zipfExponent ?? 0.8,
    interestShare: o.interestShare ?? 0.6,
    click: { ...DEFAULT_CLICK, ...o.click },
  };
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`synthesize v2: ${what}`);
  };
  const int = (v: number, lo: number, hi = Infinity) => Number.isInteger(v) && v >= lo && v <= hi;
  check(int(r.users, 1, 10_000_000), `users must be an integer in [1, 10000000], got ${r.users}`);
  check(int(r.items, 1, 2 ** 31 - 1), `items must be a positive integer, got ${r.items}`);
  check(Number.isSafeInteger(r.seed), `seed must be a safe integer, got ${r.seed}`);
  check(Number.isFinite(r.days) && r.days > 0, `days must be > 0, got ${r.days}`);
  check(int(r.topics, 2, 1000), `topics must be an integer in [2, 1000], got ${r.topics}`);
  check(int(r.categories, 1, r.topics), `categories must be in [1, topics], got ${r.categories}`);
  check(int(r.tagsPerTopic, 2), `tagsPerTopic must be an integer ≥ 2, got ${r.tagsPerTopic}`);
  check(int(r.styles, 1, 64), `styles must be an integer in [1, 64], got ${r.styles}`);
  check(Number.isFinite(r.meanExposures) && r.meanExposures > 0, `meanExposures must be > 0, got ${r.meanExposures}`);
  check(r.catalogShare >= 0 && r.catalogShare <= 1, `catalogShare must be in [0, 1], got ${r.catalogShare}`);
  check(Number.isFinite(r.lifetimeDays) && r.lifetimeDays > 0, `lifetimeDays must be > 0, got ${r.lifetimeDays}`);
  check(Number.isFinite(r.zipfExponent) && r.zipfExponent >= 0, `zipfExponent must be ≥ 0, got ${r.zipfExponent}`);
  check(r.interestShare >= 0 && r.interestShare <= 1, `interestShare must be in [0, 1], got ${r.interestShare}`);
  for (const [k, v] of Object.entries(r.click)) check(Number.isFinite(v), `click.${k} must be finite, got ${v}`);
  return r;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

interface World {
  topicTags: string[][];
  allTags: string[];
  tagRank: WeightedSampler;
  topicPrior: WeightedSampler;
  topicRegion: Int32Array;
  topicFemale: Float64Array;
  topicAge: Float64Array;
}

function makeWorld(o: ResolvedV2): World {
  const rng = new Rng(o.seed, 'v2:world');
  const count = o.topics * o.tagsPerTopic + 24;
  const names = Array.from({ length: count }, (_, i) => `tag_${pad(i, String(count - 1).length)}`);
  rng.shuffle(names);
  const prior = Float64Array.from({ length: o.topics }, (_, t) => (t + 1) ** -0.4);
  rng.shuffle(prior as unknown as Int32Array);
  return {
    topicTags: Array.from({ length: o.topics }, (_, t) => names.slice(t * o.tagsPerTopic, (t + 1) * o.tagsPerTopic)),
    allTags: names,
    tagRank: new WeightedSampler(Float64Array.from({ length: o.tagsPerTopic }, (_, r) => 1 / (r + 1))),
    topicPrior: new WeightedSampler(prior),
    topicRegion: Int32Array.from({ length: o.topics }, () => rng.int(12)),
    topicFemale: Float64Array.from({ length: o.topics }, () => 0.25 + 0.5 * rng.next()),
    topicAge: Float64Array.from({ length: o.topics }, () => 20 + 30 * rng.next()),
  };
}

interface ItemsV2 {
  topics: Int32Array; // items × 3, −1 unused
  style: Int32Array;
  sensitive: Uint8Array;
  birth: Float64Array; // seconds; catalog items at the window start
  catalog: Uint8Array;
  weight: Float64Array;
  quality: Float64Array;
  category: string[];
  tags: string[][];
}

function makeItems(o: ResolvedV2, w: World): ItemsV2 {
  const rng = new Rng(o.seed, 'v2:items');
  const n = o.items;
  const topics = new Int32Array(n * 3).fill(-1);
  const style = new Int32Array(n);
  const sensitive = new Uint8Array(n);
  const birth = new Float64Array(n);
  const catalog = new Uint8Array(n);
  const category: string[] = [];
  const tags: string[][] = [];
  const howMany = new WeightedSampler(ITEM_TOPIC_COUNT_WEIGHTS);
  const window = o.days * 86400;
  for (let i = 0; i < n; i++) {
    const m = Math.min(1 + howMany.sample(rng), o.topics);
    for (let j = 0; j < m; j++) {
      let t: number;
      do t = w.topicPrior.sample(rng);
      while (topics.subarray(i * 3, i * 3 + j).includes(t));
      topics[i * 3 + j] = t;
    }
    style[i] = rng.int(o.styles);
    sensitive[i] = rng.next() < STYLE_SENSITIVE ? 1 : 0;
    catalog[i] = rng.next() < o.catalogShare ? 1 : 0;
    // New items are born over the window, the last day excepted (they would have no audience yet).
    birth[i] = o.start + (catalog[i] ? 0 : rng.next() * Math.max(0, window - 86400));
    category.push(`cat_${pad(topics[i * 3]! % o.categories, 2)}`);
    const own = new Set<string>();
    const want = 2 + rng.int(4);
    for (let a = 0; own.size < want && a < 4 * want; a++) {
      const t = topics[i * 3 + rng.int(m)]!;
      own.add(rng.next() < 0.9 ? w.topicTags[t]![w.tagRank.sample(rng)]! : w.allTags[rng.int(w.allTags.length)]!);
    }
    tags.push([...own]);
  }
  const rank = Int32Array.from({ length: n }, (_, i) => i);
  rng.shuffle(rank);
  const logN = Math.log(Math.max(2, n));
  const weight = Float64Array.from(rank, (r, i) => (r + 1) ** -o.zipfExponent * (catalog[i] ? 1 / 3 : 1));
  const quality = Float64Array.from(rank, (r) => 1 - Math.log(r + 1) / logN);
  return { topics, style, sensitive, birth, catalog, weight, quality, category, tags };
}

interface UsersV2 {
  topic: Int32Array;
  weight: Float64Array;
  style: Int32Array;
  propensity: Float64Array;
  activity: Float64Array;
  exposures: Int32Array;
}

function makeUsers(o: ResolvedV2, w: World): UsersV2 {
  const rng = new Rng(o.seed, 'v2:users');
  const n = o.users;
  const topic = new Int32Array(n * MAX_INTERESTS).fill(-1);
  const weight = new Float64Array(n * MAX_INTERESTS);
  const style = new Int32Array(n);
  const propensity = new Float64Array(n);
  const activity = new Float64Array(n);
  const exposures = new Int32Array(n);
  const howMany = new WeightedSampler(INTEREST_COUNT_WEIGHTS);
  for (let u = 0; u < n; u++) {
    const k = Math.min(1 + howMany.sample(rng), MAX_INTERESTS, o.topics);
    const base = u * MAX_INTERESTS;
    drawInterests(rng, w.topicPrior, topic, weight, base, k);
    style[u] = rng.int(o.styles);
    propensity[u] = o.click.userSpread * rng.normal();
    activity[u] = o.meanExposures * Math.exp(0.8 * rng.normal() - 0.32);
    exposures[u] = Math.max(1, rng.poisson(activity[u]!));
  }
  return { topic, weight, style, propensity, activity, exposures };
}

/** affinity = max over the item's topics of √(the user's weight on it). */
function affinity(uw: UsersV2, u: number, iw: ItemsV2, i: number): number {
  let best = 0;
  for (let a = 0; a < 3; a++) {
    const t = iw.topics[i * 3 + a]!;
    if (t < 0) break;
    for (let j = 0; j < MAX_INTERESTS; j++) {
      const ut = uw.topic[u * MAX_INTERESTS + j]!;
      if (ut < 0) break;
      if (ut === t) best = Math.max(best, Math.sqrt(uw.weight[u * MAX_INTERESTS + j]!));
    }
  }
  return best;
}

/** Per time slot, samplers over the items alive then (globally and per topic), weighted by decayed popularity. */
function slotSamplers(o: ResolvedV2, iw: ItemsV2) {
  const slots = Math.ceil((o.days * 86400) / SLOT_SECONDS);
  const tau = o.lifetimeDays * 86400;
  const out: Array<{ global: { ids: Int32Array; s: WeightedSampler } | null; byTopic: Array<{ ids: Int32Array; s: WeightedSampler } | null> }> = [];
  for (let s = 0; s < slots; s++) {
    const t = o.start + (s + 0.5) * SLOT_SECONDS;
    const ids: number[] = [];
    const ws: number[] = [];
    const perTopic: Array<{ ids: number[]; ws: number[] }> = Array.from({ length: o.topics }, () => ({ ids: [], ws: [] }));
    for (let i = 0; i < o.items; i++) {
      if (iw.birth[i]! > t) continue;
      const wt = iw.weight[i]! * (iw.catalog[i] ? 1 : Math.exp(-(t - iw.birth[i]!) / tau));
      if (wt < 1e-9) continue;
      ids.push(i);
      ws.push(wt);
      for (let a = 0; a < 3; a++) {
        const topic = iw.topics[i * 3 + a]!;
        if (topic < 0) break;
        perTopic[topic]!.ids.push(i);
        perTopic[topic]!.ws.push(wt);
      }
    }
    const make = (x: { ids: number[]; ws: number[] }) => (x.ids.length ? { ids: Int32Array.from(x.ids), s: new WeightedSampler(x.ws) } : null);
    out.push({ global: make({ ids, ws }), byTopic: perTopic.map(make) });
  }
  return out;
}

function makeEvents(o: ResolvedV2, iw: ItemsV2, uw: UsersV2): Events {
  const rng = new Rng(o.seed, 'v2:events');
  const samplers = slotSamplers(o, iw);
  const window = o.days * 86400;
  const user: number[] = [];
  const item: number[] = [];
  const timestamp: number[] = [];
  const label: number[] = [];
  const c = o.click;
  const seen = new Set<number>();
  for (let u = 0; u < o.users; u++) {
    seen.clear();
    const times = Float64Array.from({ length: uw.exposures[u]! }, () => o.start + rng.int(Math.floor(window))).sort();
    for (const t of times) {
      const slot = samplers[Math.min(samplers.length - 1, Math.floor((t - o.start) / SLOT_SECONDS))]!;
      let i = -1;
      for (let attempt = 0; attempt < RETRIES && i < 0; attempt++) {
        let pool = slot.global;
        if (rng.next() < o.interestShare) {
          // An interest, by weight.
          let x = rng.next();
          let j = 0;
          for (; j < MAX_INTERESTS - 1 && uw.topic[u * MAX_INTERESTS + j + 1]! >= 0; j++) {
            x -= uw.weight[u * MAX_INTERESTS + j]!;
            if (x < 0) break;
          }
          pool = slot.byTopic[uw.topic[u * MAX_INTERESTS + j]!] ?? slot.global;
        }
        if (!pool) break;
        const candidate = pool.ids[pool.s.sample(rng)]!;
        if (!seen.has(candidate)) i = candidate;
      }
      if (i < 0) continue;
      seen.add(i);
      const aff = affinity(uw, u, iw, i);
      const conj = iw.sensitive[i] ? aff * (uw.style[u] === iw.style[i] ? 1 : -0.5) : 0;
      const logit = c.bias + c.affinity * aff + c.style * conj + c.quality * iw.quality[i]! + uw.propensity[u]! + c.noise * rng.normal();
      user.push(u);
      item.push(i);
      timestamp.push(t);
      label.push(rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0);
    }
  }
  return { user: Int32Array.from(user), item: Int32Array.from(item), timestamp: Float64Array.from(timestamp), label: Uint8Array.from(label) };
}

function makeFields(o: ResolvedV2, w: World, uw: UsersV2): Map<string, FieldColumn> {
  const n = o.users;
  const stream = (name: string) => new Rng(o.seed, `v2:field:${name}`);
  const r = Object.fromEntries(SYNTH_V2_SCHEMA.fields.map((f) => [f.name, stream(f.name)])) as Record<string, Rng>;
  const tagsOf = (rng: Rng, t: number, count: number, out: Set<string>) => {
    for (let c = 0; c < count; c++) out.add(rng.next() < 0.75 ? w.topicTags[t]![w.tagRank.sample(rng)]! : w.allTags[rng.int(w.allTags.length)]!);
  };
  const interestTags: string[][] = [];
  const recentTags: string[][] = [];
  const categories: string[][] = [];
  const styleHint: string[] = [];
  const region: string[] = [];
  const gender: string[] = [];
  const age = new Float64Array(n);
  const cityTier: string[] = [];
  const activity = new Float64Array(n);
  const device: string[] = [];
  const os: string[] = [];
  const channel: string[] = [];
  const lucky = new Float64Array(n);
  const accountAge = new Float64Array(n);
  for (let u = 0; u < n; u++) {
    const base = u * MAX_INTERESTS;
    const main = uw.topic[base]!;
    const interests: number[] = [];
    for (let j = 0; j < MAX_INTERESTS && uw.topic[base + j]! >= 0; j++) interests.push(j);
    // Each interest shows only some of its tags, in proportion to its weight, some of them wrong.
    const tags = new Set<string>();
    for (const j of interests) if (r.interest_tags!.next() < 0.85) tagsOf(r.interest_tags!, uw.topic[base + j]!, Math.max(1, Math.round(1 + 5 * uw.weight[base + j]!)), tags);
    interestTags.push([...tags]);
    const recent = new Set<string>();
    const pick = interests[r.recent_tags!.int(interests.length)]!;
    tagsOf(r.recent_tags!, uw.topic[base + pick]!, 3, recent);
    recentTags.push([...recent]);
    const cats = new Set<string>();
    for (const j of interests) if (r.interest_categories!.next() < 0.6) cats.add(`cat_${pad(uw.topic[base + j]! % o.categories, 2)}`);
    if (r.interest_categories!.next() < 0.4) cats.add(`cat_${pad(r.interest_categories!.int(o.categories), 2)}`);
    categories.push([...cats]);
    styleHint.push(`style_${r.style_hint!.next() < 0.6 ? uw.style[u] : r.style_hint!.int(o.styles)}`);
    region.push(`region_${pad(r.region!.next() < 0.3 ? w.topicRegion[main]! : r.region!.int(12), 2)}`);
    gender.push(r.gender!.next() < w.topicFemale[main]! ? 'f' : 'm');
    age[u] = Math.min(80, Math.max(14, Math.round(36 + 0.5 * (w.topicAge[main]! - 36) + 10 * r.age!.normal())));
    cityTier.push(`tier_${Math.min(3, Math.max(0, Math.round(1.5 + uw.propensity[u]! + r.city_tier!.normal())))}`);
    activity[u] = Math.log(uw.activity[u]!) + 0.3 * r.activity!.normal();
    device.push(['android', 'ios', 'web', 'tv'][r.device!.int(4)]!);
    os.push(`os_${r.os_version!.int(9)}`);
    channel.push(['organic', 'ads', 'referral', 'partner', 'store'][r.signup_channel!.int(5)]!);
    lucky[u] = r.lucky_number!.int(100);
    accountAge[u] = Math.round(r.account_age!.exponential() * 400);
  }
  return new Map<string, FieldColumn>([
    ['interest_tags', { kind: 'multivalent', values: interestTags }],
    ['recent_tags', { kind: 'multivalent', values: recentTags }],
    ['interest_categories', { kind: 'multivalent', values: categories }],
    ['style_hint', { kind: 'univalent', values: styleHint }],
    ['region', { kind: 'univalent', values: region }],
    ['gender', { kind: 'univalent', values: gender }],
    ['age', { kind: 'continuous', values: age }],
    ['city_tier', { kind: 'univalent', values: cityTier }],
    ['activity', { kind: 'continuous', values: activity }],
    ['device', { kind: 'univalent', values: device }],
    ['os_version', { kind: 'univalent', values: os }],
    ['signup_channel', { kind: 'univalent', values: channel }],
    ['lucky_number', { kind: 'continuous', values: lucky }],
    ['account_age', { kind: 'continuous', values: accountAge }],
  ]);
}

function generateV2(o: ResolvedV2): Dataset {
  const world = makeWorld(o);
  const iw = makeItems(o, world);
  const uw = makeUsers(o, world);
  return {
    schema: { fields: SYNTH_V2_SCHEMA.fields.map((f) => ({ ...f })) },
    users: { ids: Array.from({ length: o.users }, (_, u) => `u${u}`), fields: makeFields(o, world, uw) },
    items: { ids: Array.from({ length: o.items }, (_, i) => `i${i}`), category: iw.category, tags: iw.tags },
    events: makeEvents(o, iw, uw),
    fingerprint: '',
  };
}

/** Generates a v2 dataset in memory, deterministically for its options. */
export function synthesizeV2(options: SynthV2Options): Dataset {
  const dataset = generateV2(resolveV2(options));
  dataset.fingerprint = fingerprintOf(dataset);
  return dataset;
}

/** Generates a v2 dataset and writes it to `dir`. */
export async function synthesizeV2ToDir(options: SynthV2Options, dir: string): Promise<Dataset> {
  const dataset = generateV2(resolveV2(options));
  dataset.fingerprint = await writeDataset(dir, dataset);
  return dataset;
}
