/**
 * The generator's latent world (topics, tag pools, items, users' interests)
 * and the observed user fields drawn from it. See synth.ts for the model.
 */
import { Rng, WeightedSampler } from './rng';
import type { Resolved } from './synth-options';
import type { FieldColumn, Items, Schema, Users } from './types';

/** The six fields of the reference configuration, strongest first. */
export const SYNTH_SCHEMA: Schema = {
  fields: [
    { name: 'interest_tags', kind: 'multivalent' },
    { name: 'interest_categories', kind: 'multivalent' },
    { name: 'region', kind: 'univalent' },
    { name: 'gender', kind: 'univalent' },
    { name: 'age', kind: 'continuous' },
    { name: 'device', kind: 'univalent' },
  ],
};

export const MAX_INTERESTS = 4;
const INTEREST_COUNT_WEIGHTS = [0.3, 0.35, 0.22, 0.13]; // 1, 2, 3, 4 interests
const SECOND_TOPIC_RATE = 0.3;
const DEVICES = ['android', 'ios', 'web', 'tv'];
const DEVICE_WEIGHTS = [0.45, 0.38, 0.12, 0.05];
const ACTIVITY_SIGMA = 1; // log-normal spread of user activity: the heavy tail

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function zipfWeights(n: number, exponent: number): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = (r + 1) ** -exponent;
  return w;
}

/** Topics, their tag pools, categories and the demographic leanings of their fans. */
export interface World {
  topicPrior: WeightedSampler;
  categoryOf: (topic: number) => number;
  categoryNames: string[];
  /** topicTags[t][rank]: the pool of topic t, most common first. */
  topicTags: string[][];
  tagRank: WeightedSampler;
  genericTags: string[];
  allTags: string[];
  regionNames: string[];
  regionPrior: WeightedSampler;
  topicRegion: Int32Array;
  topicFemale: Float64Array;
  topicAge: Float64Array;
}

export function makeWorld(o: Resolved): World {
  const rng = new Rng(o.seed, 'world');
  const tagCount = o.topics * o.tagsPerTopic + o.genericTags;
  // Shuffled names, so a tag's name says nothing about its topic.
  const names = Array.from({ length: tagCount }, (_, i) => `tag_${pad(i, String(tagCount - 1).length)}`);
  rng.shuffle(names);
  const topicTags = Array.from({ length: o.topics }, (_, t) => names.slice(t * o.tagsPerTopic, (t + 1) * o.tagsPerTopic));
  const topicPrior = zipfWeights(o.topics, 0.5);
  const order = Array.from({ length: o.topics }, (_, t) => t);
  rng.shuffle(order); // which topic is big is not tied to its number
  const prior = new Float64Array(o.topics);
  order.forEach((t, rank) => (prior[t] = topicPrior[rank]!));
  const topicRegion = new Int32Array(o.topics);
  const topicFemale = new Float64Array(o.topics);
  const topicAge = new Float64Array(o.topics);
  for (let t = 0; t < o.topics; t++) {
    topicRegion[t] = rng.int(o.regions);
    topicFemale[t] = 0.3 + 0.4 * rng.next();
    topicAge[t] = 22 + 28 * rng.next();
  }
  return {
    topicPrior: new WeightedSampler(prior),
    categoryOf: (t) => t % o.categories,
    categoryNames: Array.from({ length: o.categories }, (_, c) => `cat_${pad(c, 2)}`),
    topicTags,
    tagRank: new WeightedSampler(zipfWeights(o.tagsPerTopic, 1)),
    genericTags: names.slice(o.topics * o.tagsPerTopic),
    allTags: names,
    regionNames: Array.from({ length: o.regions }, (_, r) => `region_${pad(r, 2)}`),
    regionPrior: new WeightedSampler(zipfWeights(o.regions, 0.8)),
    topicRegion,
    topicFemale,
    topicAge,
  };
}

function addUnique(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}

/** Items, plus the latent facts the click model needs. */
export interface ItemWorld {
  items: Items;
  mainTopic: Int32Array;
  /** −1 when the item has a single topic. */
  secondTopic: Int32Array;
  /** 1 − ln(rank)/ln(n) ∈ [0, 1]: 1 for the most popular item. */
  popularity: Float64Array;
  global: WeightedSampler;
  /** Per topic, the items carrying it (second topics at half weight), or null when none does. */
  byTopic: ({ ids: Int32Array; sampler: WeightedSampler } | null)[];
}

export function makeItems(o: Resolved, w: World): ItemWorld {
  const rng = new Rng(o.seed, 'items');
  const n = o.items;
  const ids: string[] = [];
  const category: string[] = [];
  const tags: string[][] = [];
  const mainTopic = new Int32Array(n);
  const secondTopic = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const main = w.topicPrior.sample(rng);
    mainTopic[i] = main;
    if (rng.next() < SECOND_TOPIC_RATE) secondTopic[i] = (main + 1 + rng.int(o.topics - 1)) % o.topics;
    const second = secondTopic[i]!;
    ids.push(`i${i}`);
    category.push(w.categoryNames[w.categoryOf(main)]!);
    const want = 2 + rng.int(4);
    const own: string[] = [];
    // Bounded retries: a tiny tag pool may not hold `want` distinct tags.
    for (let attempt = 0; own.length < want && attempt < 4 * want; attempt++) {
      const u = rng.next();
      const topic = u < 0.75 || (u < 0.9 && second < 0) ? main : u < 0.9 ? second : -1;
      addUnique(own, topic < 0 ? w.genericTags[rng.int(w.genericTags.length)]! : w.topicTags[topic]![w.tagRank.sample(rng)]!);
    }
    tags.push(own);
  }
  // Popularity ranks are a random permutation: popular items come from every topic.
  const rankOf = new Int32Array(n).map((_, i) => i);
  rng.shuffle(rankOf);
  const weight = new Float64Array(n);
  const popularity = new Float64Array(n);
  const logN = Math.log(Math.max(n, 2));
  for (let i = 0; i < n; i++) {
    weight[i] = (rankOf[i]! + 1) ** -o.zipfExponent;
    popularity[i] = 1 - Math.log(rankOf[i]! + 1) / logN;
  }
  const members: number[][] = Array.from({ length: o.topics }, () => []);
  for (let i = 0; i < n; i++) {
    members[mainTopic[i]!]!.push(i);
    if (secondTopic[i]! >= 0) members[secondTopic[i]!]!.push(i);
  }
  const byTopic = members.map((list, t) => {
    if (list.length === 0) return null;
    const ws = list.map((i) => weight[i]! * (mainTopic[i] === t ? 1 : 0.5));
    return { ids: Int32Array.from(list), sampler: new WeightedSampler(ws) };
  });
  return { items: { ids, category, tags }, mainTopic, secondTopic, popularity, global: new WeightedSampler(weight), byTopic };
}

/** Users' latent interests: up to MAX_INTERESTS (topic, weight) slots each, topic −1 when unused. */
export interface UserWorld {
  topic: Int32Array;
  weight: Float64Array;
  propensity: Float64Array;
  exposures: Int32Array;
}

/**
 * Fills slots base..base+k−1 with k distinct topics from `prior` and exponential weights
 * normalised to 1, strongest first (the demographic fields lean on slot 0). Both
 * generators draw a user's interests this way, in this order of random draws.
 */
export function drawInterests(rng: Rng, prior: WeightedSampler, topic: Int32Array, weight: Float64Array, base: number, k: number): void {
  let total = 0;
  for (let j = 0; j < k; j++) {
    let t: number;
    do t = prior.sample(rng);
    while (topic.subarray(base, base + j).includes(t));
    topic[base + j] = t;
    weight[base + j] = rng.exponential();
    total += weight[base + j]!;
  }
  for (let j = 0; j < k; j++) weight[base + j]! /= total;
  for (let j = 1; j < k; j++) {
    for (let m = j; m > 0 && weight[base + m]! > weight[base + m - 1]!; m--) {
      [weight[base + m], weight[base + m - 1]] = [weight[base + m - 1]!, weight[base + m]!];
      [topic[base + m], topic[base + m - 1]] = [topic[base + m - 1]!, topic[base + m]!];
    }
  }
}

export function makeUsers(o: Resolved, w: World): UserWorld {
  const rng = new Rng(o.seed, 'users');
  const n = o.users;
  const topic = new Int32Array(n * MAX_INTERESTS).fill(-1);
  const weight = new Float64Array(n * MAX_INTERESTS);
  const propensity = new Float64Array(n);
  const exposures = new Int32Array(n);
  const howMany = new WeightedSampler(INTEREST_COUNT_WEIGHTS);
  const maxInterests = Math.min(MAX_INTERESTS, o.topics);
  for (let u = 0; u < n; u++) {
    const k = Math.min(1 + howMany.sample(rng), maxInterests);
    const base = u * MAX_INTERESTS;
    drawInterests(rng, w.topicPrior, topic, weight, base, k);
    propensity[u] = o.click.userSpread * rng.normal();
    // Log-normal with mean meanExposures: most users see a few items, some see hundreds.
    const activity = o.meanExposures * Math.exp(ACTIVITY_SIGMA * rng.normal() - (ACTIVITY_SIGMA * ACTIVITY_SIGMA) / 2);
    exposures[u] = Math.max(1, rng.poisson(activity));
  }
  return { topic, weight, propensity, exposures };
}

export function makeFields(o: Resolved, w: World, uw: UserWorld): Users {
  const n = o.users;
  const ids = Array.from({ length: n }, (_, u) => `u${u}`);
  // One stream per field: changing how one field is drawn leaves the others as they were.
  const rngTags = new Rng(o.seed, 'field:interest_tags');
  const rngCats = new Rng(o.seed, 'field:interest_categories');
  const rngRegion = new Rng(o.seed, 'field:region');
  const rngGender = new Rng(o.seed, 'field:gender');
  const rngAge = new Rng(o.seed, 'field:age');
  const rngDevice = new Rng(o.seed, 'field:device');
  const deviceSampler = new WeightedSampler(DEVICE_WEIGHTS);
  const interestTags: string[][] = new Array(n);
  const interestCats: string[][] = new Array(n);
  const region: string[] = new Array(n);
  const gender: string[] = new Array(n);
  const age = new Float64Array(n);
  const device: string[] = new Array(n);
  for (let u = 0; u < n; u++) {
    const base = u * MAX_INTERESTS;
    const main = uw.topic[base]!;
    const tagList: string[] = [];
    const catList: string[] = [];
    const tagsMissing = rngTags.next() < 0.05;
    for (let j = 0; j < MAX_INTERESTS && uw.topic[base + j]! >= 0; j++) {
      const t = uw.topic[base + j]!;
      const count = Math.max(1, Math.round(2 + 6 * uw.weight[base + j]!));
      for (let c = 0; c < count; c++) {
        const tag = rngTags.next() < 0.8 ? w.topicTags[t]![w.tagRank.sample(rngTags)]! : w.allTags[rngTags.int(w.allTags.length)]!;
        if (!tagsMissing) addUnique(tagList, tag);
      }
      if (rngCats.next() < 0.75) addUnique(catList, w.categoryNames[w.categoryOf(t)]!);
    }
    if (rngCats.next() < 0.3) addUnique(catList, w.categoryNames[rngCats.int(w.categoryNames.length)]!);
    interestTags[u] = tagList;
    interestCats[u] = catList;
    const r = rngRegion.next() < 0.3 ? w.topicRegion[main]! : w.regionPrior.sample(rngRegion);
    region[u] = rngRegion.next() < 0.03 ? '' : w.regionNames[r]!;
    const female = rngGender.next() < w.topicFemale[main]!;
    gender[u] = rngGender.next() < 0.04 ? '' : female ? 'f' : 'm';
    const years = Math.round(36 + 0.5 * (w.topicAge[main]! - 36) + 10 * rngAge.normal());
    age[u] = rngAge.next() < 0.05 ? NaN : Math.min(80, Math.max(14, years));
    device[u] = DEVICES[deviceSampler.sample(rngDevice)]!;
  }
  const fields = new Map<string, FieldColumn>([
    ['interest_tags', { kind: 'multivalent', values: interestTags }],
    ['interest_categories', { kind: 'multivalent', values: interestCats }],
    ['region', { kind: 'univalent', values: region }],
    ['gender', { kind: 'univalent', values: gender }],
    ['age', { kind: 'continuous', values: age }],
    ['device', { kind: 'univalent', values: device }],
  ]);
  return { ids, fields };
}
