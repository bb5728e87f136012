import type { Dataset } from '@ralm/data';
import { Rng } from './rng';

/** Which users train and which are held out, and the per-phase samples built from the events. */
export interface TrainingData {
  dataset: Dataset;
  trainUsers: Int32Array;
  validationUsers: Int32Array;
  isValidation: Uint8Array;
  /** Phase 1: (user row, positive item) pairs of training users, at most maxPositivesPerUser per user. */
  phase1: { users: Int32Array; items: Int32Array };
  /** The same for validation users (for validation AUC and loss). */
  phase1Validation: { users: Int32Array; items: Int32Array };
  /** Clicks per item over training users: the rank of the negative sampler. */
  clicksPerItem: Float64Array;
  /** Distinct training users who clicked each item (its seeds), by item row. */
  seeds: Int32Array[];
  /** Phase 2 samples (user row, item row, label) for training and validation users. */
  phase2: { users: Int32Array; items: Int32Array; labels: Float32Array };
  phase2Validation: { users: Int32Array; items: Int32Array; labels: Float32Array };
}

export interface SplitOptions {
  validationFraction: number;
  maxPositivesPerUser: number;
  /** Random-user negatives per positive when the data holds no exposures (label 0). */
  sampledNegatives: number;
  seed: number;
}

/**
 * Splits users (not events) so validation users are unseen in training,
 * caps positives per user (the paper's guard against very active users),
 * and gathers each item's seeds from training users only.
 */
export function prepareTrainingData(dataset: Dataset, options: SplitOptions): TrainingData {
  const rng = new Rng(options.seed ^ 0x5eed);
  const nUsers = dataset.users.ids.length;
  const nItems = dataset.items.ids.length;
  const order = Int32Array.from({ length: nUsers }, (_, i) => i);
  rng.shuffle(order);
  const nValidation = Math.round(nUsers * options.validationFraction);
  const isValidation = new Uint8Array(nUsers);
  for (let i = 0; i < nValidation; i++) isValidation[order[i]!] = 1;
  const validationUsers = order.slice(0, nValidation).sort();
  const trainUsers = order.slice(nValidation).sort();

  const { user, item, label } = dataset.events;
  const positivesByUser = new Map<number, number[]>();
  const clicksPerItem = new Float64Array(nItems);
  const seedSets: Array<Set<number>> = Array.from({ length: nItems }, () => new Set());
  let hasExposures = false;
  for (let e = 0; e < user.length; e++) {
    if (label[e] !== 1) {
      hasExposures = true;
      continue;
    }
    const u = user[e]!;
    const i = item[e]!;
    let list = positivesByUser.get(u);
    if (!list) positivesByUser.set(u, (list = []));
    list.push(i);
    if (!isValidation[u]) {
      clicksPerItem[i]!++;
      seedSets[i]!.add(u);
    }
  }

  const pairs = (validation: boolean) => {
    const us: number[] = [];
    const is: number[] = [];
    for (const [u, items] of positivesByUser) {
      if (Boolean(isValidation[u]) !== validation) continue;
      const distinct = [...new Set(items)];
      rng.shuffle(distinct);
      for (const i of distinct.slice(0, options.maxPositivesPerUser)) {
        us.push(u);
        is.push(i);
      }
    }
    return { users: Int32Array.from(us), items: Int32Array.from(is) };
  };

  const samples = (validation: boolean) => {
    const us: number[] = [];
    const is: number[] = [];
    const ls: number[] = [];
    for (let e = 0; e < user.length; e++) {
      const u = user[e]!;
      if (Boolean(isValidation[u]) !== validation) continue;
      us.push(u);
      is.push(item[e]!);
      ls.push(label[e]!);
      if (!hasExposures && label[e] === 1) {
        for (let s = 0; s < options.sampledNegatives; s++) {
          const pool = validation ? validationUsers : trainUsers;
          us.push(pool[rng.int(pool.length)]!);
          is.push(item[e]!);
          ls.push(0);
        }
      }
    }
    return { users: Int32Array.from(us), items: Int32Array.from(is), labels: Float32Array.from(ls) };
  };

  return {
    dataset,
    trainUsers,
    validationUsers,
    isValidation,
    phase1: pairs(false),
    phase1Validation: pairs(true),
    clicksPerItem,
    seeds: seedSets.map((s) => Int32Array.from([...s].sort((a, b) => a - b))),
    phase2: samples(false),
    phase2Validation: samples(true),
  };
}
