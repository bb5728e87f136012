/**
 * The synthetic dataset: a fair test bed for look-alike models, not a rigged one.
 *
 * Latent world: T topics, grouped into categories; every topic has a pool of
 * tags (a few generic tags are shared by all). An item has one main topic and
 * maybe a second, a category (its main topic's), 2–5 tags mostly from its
 * topics' pools, and a Zipf popularity independent of its topic. A user has 1–4
 * interest topics with Dirichlet weights, so the people who click an item
 * have diverse other interests: an item's seeds are multi-modal.
 *
 * Observed user fields, from strong to none:
 *   interest_tags        multivalent  tags drawn from the interest topics' pools, 20% noise   strong
 *   interest_categories  multivalent  the interest topics' categories, dropped/added at random  medium
 *   region               univalent    the main interest's region 30% of the time               weak
 *   gender               univalent    P(f) in [0.3, 0.7] set by the main interest               weak
 *   age                  continuous   shifted by half the main interest's mean age, sd 10 y    weak
 *   device               univalent    independent of everything (its own random stream)        none
 *
 * Events: a user with activity λ (log-normal around `meanExposures`) gets
 * max(1, Poisson(λ)) exposures at uniform times over `days`. An exposure picks
 * an item from one of the user's topics (probability `interestShare`) or from
 * global popularity, and is clicked with probability
 *   sigmoid(affinity·a + popularity·b + bias + userBias + noise),
 * where affinity ∈ [0, 1] is the user's interest weight on the item's topics
 * (main 1, second 0.5, same category 0.15), popularity = 1 − ln(rank)/ln(items)
 * ∈ [0, 1], userBias ~ N(0, userSpread²) and noise ~ N(0, noise²) per exposure.
 * Popularity alone ranks clicks better than chance; the interest fields help
 * further; the noise terms keep any model below AUC 1.
 *
 * Events are grouped by user (user 0 first), in time order within a user.
 * With the defaults a user has about 20 exposures and clicks about 14% of
 * them; 100,000 users take 2–3 s, 1,000,000 users about 1 GB of memory.
 */
import { fingerprintOf } from './serialize';
import { Rng } from './rng';
import { resolve, type Resolved, type SynthOptions } from './synth-options';
import {
  MAX_INTERESTS,
  SYNTH_SCHEMA,
  makeFields,
  makeItems,
  makeUsers,
  makeWorld,
  type ItemWorld,
  type UserWorld,
  type World,
} from './synth-world';
import { writeDataset } from './write';
import type { Dataset, Events } from './types';

export type { ClickModel, SynthOptions } from './synth-options';
export { SYNTH_SCHEMA } from './synth-world';

/**
 * Generates a dataset in memory, deterministically for `options.seed`.
 * Linear in users + items + events; the fingerprint costs one in-memory
 * serialization (use `synthesizeToDir` to write and fingerprint in one pass).
 * @throws RangeError for an option out of its documented range
 */
export function synthesize(options: SynthOptions): Dataset {
  const dataset = generate(resolve(options));
  dataset.fingerprint = fingerprintOf(dataset);
  return dataset;
}

/**
 * Generates a dataset and writes it to `dir` (see `writeDataset`), serializing
 * once. Resolves to the dataset, its fingerprint that of the written files.
 */
export async function synthesizeToDir(options: SynthOptions, dir: string): Promise<Dataset> {
  const dataset = generate(resolve(options));
  dataset.fingerprint = await writeDataset(dir, dataset);
  return dataset;
}

function makeEvents(o: Resolved, w: World, iw: ItemWorld, uw: UserWorld): Events {
  const rng = new Rng(o.seed, 'events');
  let total = 0;
  for (let u = 0; u < o.users; u++) total += uw.exposures[u]!;
  const user = new Int32Array(total);
  const item = new Int32Array(total);
  const timestamp = new Float64Array(total);
  const label = new Uint8Array(total);
  const windowSeconds = Math.floor(o.days * 86400);
  const { affinity: a, popularity: b, bias, noise } = o.click;
  let e = 0;
  for (let u = 0; u < o.users; u++) {
    const base = u * MAX_INTERESTS;
    const count = uw.exposures[u]!;
    // Items do not depend on time, so sorting the times alone orders the user's events.
    const times = timestamp.subarray(e, e + count);
    for (let j = 0; j < count; j++) times[j] = o.start + rng.int(windowSeconds);
    times.sort();
    for (let j = 0; j < count; j++, e++) {
      let i = -1;
      if (rng.next() < o.interestShare) {
        const pool = iw.byTopic[uw.topic[base + pickInterest(rng, uw.weight, base)]!];
        if (pool) i = pool.ids[pool.sampler.sample(rng)]!;
      }
      if (i < 0) i = iw.global.sample(rng);
      const logit = a * affinity(uw, base, iw, i, w) + b * iw.popularity[i]! + bias + uw.propensity[u]! + noise * rng.normal();
      user[e] = u;
      item[e] = i;
      label[e] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    }
  }
  return { user, item, timestamp, label };
}

function pickInterest(rng: Rng, weight: Float64Array, base: number): number {
  let x = rng.next();
  for (let j = 0; j < MAX_INTERESTS - 1; j++) {
    x -= weight[base + j]!;
    if (x < 0) return j;
  }
  // Unused slots weigh 0, so rounding is the only way here; fall back to the strongest.
  return weight[base + MAX_INTERESTS - 1]! > 0 ? MAX_INTERESTS - 1 : 0;
}

/** Σ over the user's interests of weight × match: main topic 1, second topic 0.5, same category 0.15. */
function affinity(uw: UserWorld, base: number, iw: ItemWorld, i: number, w: World): number {
  const main = iw.mainTopic[i]!;
  const second = iw.secondTopic[i]!;
  const category = w.categoryOf(main);
  let sum = 0;
  for (let j = 0; j < MAX_INTERESTS; j++) {
    const t = uw.topic[base + j]!;
    if (t < 0) break;
    const match = t === main ? 1 : t === second ? 0.5 : w.categoryOf(t) === category ? 0.15 : 0;
    sum += uw.weight[base + j]! * match;
  }
  return sum;
}

function generate(o: Resolved): Dataset {
  const world = makeWorld(o);
  const iw = makeItems(o, world);
  const uw = makeUsers(o, world);
  return {
    schema: { fields: SYNTH_SCHEMA.fields.map((f) => ({ ...f })) },
    users: makeFields(o, world, uw),
    items: iw.items,
    events: makeEvents(o, world, iw, uw),
    fingerprint: '',
  };
}
