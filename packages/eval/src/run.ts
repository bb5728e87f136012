import type { Dataset } from '@ralm/data';
import { DEFAULT_ITEM_PRIOR_WEIGHT, rankingScore } from '@ralm/kernel';
import { DEFAULT_MODEL_CONFIG, Rng, train, type Checkpoint, type ModelConfig, type Phase, type Progress, type RalmModel } from '@ralm/model';
import { cosMeanScorer, maxCentroidScorer, seedCountScorer } from './competitors/floors';
import { fitLogisticRegressionPerCandidate } from './competitors/lr';
import { fitNeural, lookalikeScorer, trainView, youtubeScorer, type CurvePoint } from './competitors/neural';
import { fitYahooLookalike } from './competitors/yahoo';
import { auc, itemAveragedAuc, precisionAtK, rankTopK } from './metrics';
import { freshSeeds, freshTestSamples, selectFreshItems, trainReadsByUser, withoutFreshItems, type FreshOptions } from './protocol';
import { itemsBySeedCount, splitByTime, testSamples } from './split';
import type { PairScorer, TimeSplit } from './types';

/** The paper's competitors (section 6.2), the names `--only` takes. */
export const COMPETITORS = ['LR', 'Yahoo Look-alike Model', 'YouTube DNN', 'RALM with average', 'RALM'] as const;
export type CompetitorName = (typeof COMPETITORS)[number];

/** Untrained floors, computed from RALM's phase-1 embeddings (they come with RALM). */
export const FLOORS = ['Popularity (seed count)', 'cos(u, mean seed)', 'max-centroid cosine'] as const;
export const UNTRAINED_PHASE2 = 'RALM, phase 2 untrained';
export const WITH_PRIOR = 'RALM + seed-count prior';
export type RowName = CompetitorName | (typeof FLOORS)[number] | typeof UNTRAINED_PHASE2 | typeof WITH_PRIOR;
/** Table order: floors, then the paper's competitors, then RALM's variants. */
export const ROW_ORDER: readonly RowName[] = [...FLOORS, UNTRAINED_PHASE2, ...COMPETITORS, WITH_PRIOR];

/** The paper's Table 1 on WeChat data (AUC, prec@10, prec@50), printed beside ours. */
export const PAPER_TABLE1: Record<CompetitorName, [number, number, number]> = {
  LR: [0.5252, 0.0811, 0.0729],
  'Yahoo Look-alike Model': [0.5512, 0.1023, 0.0941],
  'YouTube DNN': [0.5903, 0.1217, 0.1087],
  'RALM with average': [0.5842, 0.1108, 0.098],
  RALM: [0.6012, 0.1295, 0.1099],
};

export interface EvalOptions {
  /** Competitors to run; default all. Floors and Figures 5–6 need RALM (Figure 5 also YouTube DNN). */
  only?: CompetitorName[];
  /** Shrinks everything for tests and smoke runs. */
  quick?: boolean;
  /** Wall-clock limit for the whole run: every stage has a deadline (training stops there), the k sweep stops early. */
  budgetMinutes?: number;
  seed?: number;
  /** k values of Figure 6. */
  kSweep?: number[];
  /** Which items are fresh (the real-time protocol). */
  fresh?: FreshOptions;
  /** γ of the "+ seed-count prior" row (kernel `rankingScore`). */
  priorWeight?: number;
  log?: (line: string) => void;
}

/** One protocol's measures for one model. */
export interface ProtocolMetrics {
  /** Pooled over every test sample of the protocol. */
  auc: number;
  /** Averaged over items (each item's own AUC): the look-alike metric. */
  itemAuc: number;
  /** Items the item-averaged AUC averages. */
  items: number;
  /** Denominator min(K, |read|) (the spec's formula). */
  'prec@10': number;
  'prec@50': number;
  /** Denominator K. */
  'prec@10/K': number;
  'prec@50/K': number;
}

export interface Table1Row {
  model: RowName;
  kind: 'floor' | 'trained' | 'ranking';
  /** Paper protocol: items with train seeds, test events after the cutoff. */
  warm: ProtocolMetrics | null;
  /** Real time: fresh items, held out of all training, scored through all their seeds before the cutoff. */
  realtime: ProtocolMetrics | null;
  /** The same through each fresh item's earliest 100 seeds (prec@K not measured). */
  realtime100: Pick<ProtocolMetrics, 'auc' | 'itemAuc' | 'items'> | null;
  /** Why a protocol has no figure (null above). */
  unavailable?: string;
  /** Seconds to fit (RALM's variants reuse its phase 1 and count only their own training). */
  seconds: number;
}

export interface Figure6Point {
  k: number;
  realtimeItemAuc: number;
  realtime100ItemAuc: number;
  warmAuc: number;
  warmItemAuc: number;
  'prec@10': number;
  'prec@50': number;
}

export interface EvalReport {
  dataset: {
    users: number;
    items: number;
    events: number;
    clicks: number;
    fingerprint: string;
    cutoff: number;
    trainEvents: number;
    testEvents: number;
    /** Train events on fresh items: held out of every model's training (they only give those items their seeds). */
    freshTrainEvents: number;
    /** Warm protocol. */
    testSamples: number;
    testItemsWithoutSeeds: number;
    candidates: number;
    precUsers: number;
    /** Real-time protocol. */
    freshItems: number;
    freshSeedsMedian: number;
    freshSeedsMax: number;
    freshTestSamples: number;
    freshPrecUsers: number;
    freshOptions: Required<FreshOptions>;
    priorWeight: number;
  };
  config: Partial<ModelConfig>;
  rows: Table1Row[];
  figure5: { attention: CurvePoint[]; concatenation: CurvePoint[] };
  figure6: Figure6Point[];
  /** Phase-2 validation AUC at its calibrated untrained start and at its end (RALM). */
  phase2: { startValidationAuc: number; validationAuc: number; bestEpoch: number };
  notes: string[];
  seconds: number;
}

function evalConfig(quick: boolean, seed: number): ModelConfig {
  return quick
    ? { ...DEFAULT_MODEL_CONFIG, userDim: 32, lookalikeDim: 32, fieldDim: 16, attentionSize: 16, hidden: [64], clusters: 10, phase1Epochs: 3, phase2Epochs: 2, batchSize: 128, learningRate: 0.005, phase2SamplesPerEpoch: 8000, validationFraction: 0.05, seed }
    : { ...DEFAULT_MODEL_CONFIG, phase1Epochs: 3, phase2Epochs: 2, learningRate: 0.002, phase2SamplesPerEpoch: 30_000, validationFraction: 0.05, seed };
}

/** Figure 6 retrains phase 2 once per k on a smaller, equal budget, so its points compare with each other rather than with Table 1. */
function sweepConfig(config: ModelConfig, quick: boolean): ModelConfig {
  return { ...config, phase2Epochs: 1, phase2SamplesPerEpoch: quick ? 4000 : 10_000 };
}

interface Samples {
  users: Int32Array;
  items: Int32Array;
  labels: ArrayLike<number>;
}

/** Per user, their clicks among `samples` that they had not already read before the cutoff. */
function readsOf(samples: Samples, trainReads: ReadonlyMap<number, ReadonlySet<number>>): Map<number, Set<number>> {
  const reads = new Map<number, Set<number>>();
  for (let p = 0; p < samples.users.length; p++) {
    if (samples.labels[p] !== 1) continue;
    const u = samples.users[p]!;
    if (trainReads.get(u)?.has(samples.items[p]!)) continue;
    let set = reads.get(u);
    if (!set) reads.set(u, (set = new Set()));
    set.add(samples.items[p]!);
  }
  return reads;
}

/** One protocol: its test samples, the candidates ranked for prec@K, and whose reads. */
interface Protocol {
  test: Samples;
  pool: Int32Array;
  precUsers: number[];
  reads: Map<number, Set<number>>;
}

function protocol(test: Samples, pool: Int32Array, trainReads: ReadonlyMap<number, ReadonlySet<number>>, users: number, seed: number): Protocol {
  const reads = readsOf(test, trainReads);
  const readers = [...reads.keys()];
  new Rng(seed).shuffle(readers);
  const precUsers = readers.slice(0, users);
  return { test, pool, precUsers, reads: new Map(precUsers.map((u) => [u, reads.get(u)!])) };
}

function measure(scorer: PairScorer, p: Protocol, exclude: ReadonlyMap<number, ReadonlySet<number>>, withPrecision = true): ProtocolMetrics {
  const scores = scorer.score(p.test.users, p.test.items);
  const perItem = itemAveragedAuc(scores, p.test.labels, p.test.items);
  const out: ProtocolMetrics = { auc: auc(scores, p.test.labels), itemAuc: perItem.auc, items: perItem.items, 'prec@10': NaN, 'prec@50': NaN, 'prec@10/K': NaN, 'prec@50/K': NaN };
  if (withPrecision && p.precUsers.length > 0) {
    const top = rankTopK(scorer, p.precUsers, p.pool, 50, { exclude });
    out['prec@10'] = precisionAtK(top, p.reads, 10);
    out['prec@50'] = precisionAtK(top, p.reads, 50);
    out['prec@10/K'] = precisionAtK(top, p.reads, 10, 'k');
    out['prec@50/K'] = precisionAtK(top, p.reads, 50, 'k');
  }
  return out;
}

/** A scorer that ranks by `rankingScore` (look-alike score + γ·ln(1 + seeds)). */
function withSeedPrior(scorer: PairScorer, seeds: Int32Array[], weight: number): PairScorer {
  return {
    name: WITH_PRIOR,
    score(users, items) {
      const s = scorer.score(users, items);
      // In double: score + prior rounded back to float32 merged near-ties, and moved items' own AUCs.
      return Float64Array.from(s, (x, p) => rankingScore(x, seeds[items[p]!]!.length, weight));
    },
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

/**
 * Trains the paper's competitors once on a time split with the fresh items held out, and
 * measures every model under two protocols:
 * - **real time** (the headline): fresh items, unseen in all training, scored only through
 *   their seeds before the cutoff (all of them, and the earliest 100); item-averaged AUC;
 *   prec@K ranking the fresh items;
 * - **warm** (the paper's Table 1): items with train seeds; pooled and item-averaged AUC;
 *   prec@K ranking every such item.
 * prec@K leaves each user's reads before the cutoff out of both their ranking and their reads,
 * and is reported with both denominators. Beside the trained models: the untrained floors,
 * RALM's own untrained phase 2, and RALM ranked with a seed-count prior. Figure 5 (attention
 * merge vs concatenation in phase 1) and Figure 6 (RALM against k) come from the same run.
 */
export async function evaluate(dataset: Dataset, options: EvalOptions = {}): Promise<EvalReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const seed = options.seed ?? 1;
  const quick = options.quick ?? false;
  const budgetMs = options.budgetMinutes ? options.budgetMinutes * 60_000 : Infinity;
  /** The wall-clock moment by which `share` of the budget is used. */
  const by = (share: number) => started + share * budgetMs;
  const only = new Set<CompetitorName>(options.only ?? COMPETITORS);
  const kSweep = options.kSweep ?? (quick ? [5, 10, 20] : [5, 10, 20, 50, 100]);
  const config = evalConfig(quick, seed);
  const priorWeight = options.priorWeight ?? DEFAULT_ITEM_PRIOR_WEIGHT;
  const notes: string[] = [];

  const full = splitByTime(dataset);
  const fresh = selectFreshItems(full, { ...(quick ? { minSeeds: 15, minTestEach: 3 } : {}), ...options.fresh });
  const split = withoutFreshItems(full, fresh);
  const trainReads = trainReadsByUser(full);
  const warmTest = testSamples(split);
  const warmPool = itemsBySeedCount(split.trainSeeds);
  const precCount = quick ? 300 : 1000;
  const warm = protocol(warmTest, warmPool, trainReads, precCount, seed);
  const rtSeeds = freshSeeds(full, fresh);
  const rt100Seeds = freshSeeds(full, fresh, 100);
  const rtTest = freshTestSamples(full, fresh);
  const rt = protocol(rtTest, fresh.items, trainReads, precCount, seed + 1);
  const seedCounts = Array.from(fresh.items, (i) => rtSeeds[i]!.length).sort((a, b) => a - b);
  const clicks = dataset.events.label.reduce((a, b) => a + b, 0);
  log(`split at ${new Date(full.cutoff * 1000).toISOString()}: ${split.trainEvents.length} train / ${full.testEvents.length} test events`);
  log(`warm: ${warmTest.users.length} test samples on ${warmPool.length} items with train seeds; prec@K over ${warm.precUsers.length} users`);
  log(`real time: ${fresh.items.length} fresh items held out of training (first event within ${fresh.options.days} d of the cutoff, ≥ ${fresh.options.minSeeds} seeds; median ${seedCounts[seedCounts.length >> 1] ?? 0}, max ${seedCounts.at(-1) ?? 0} seeds), ${rtTest.users.length} test samples; prec@K over ${rt.precUsers.length} users`);
  if (fresh.items.length === 0) notes.push('No item qualified as fresh: the real-time columns are empty. Lower --fresh-min-seeds or widen --fresh-days.');

  const rows: Table1Row[] = [];
  const add = (row: Table1Row) => {
    rows.push(row);
    log(`${row.model}: real time item-AUC ${f3(row.realtime?.itemAuc ?? NaN)} (earliest 100: ${f3(row.realtime100?.itemAuc ?? NaN)}), prec@10 ${f3(row.realtime?.['prec@10'] ?? NaN)}; ` +
      `warm AUC ${f3(row.warm?.auc ?? NaN)}, item-AUC ${f3(row.warm?.itemAuc ?? NaN)}, prec@10 ${f3(row.warm?.['prec@10'] ?? NaN)} (${row.seconds.toFixed(0)} s)`);
  };
  /** Measures a model under all three seed sets; `make` builds its scorer for one. */
  const row = async (model: RowName, kind: Table1Row['kind'], seconds: number | (() => number), make: (seeds: Int32Array[], which: 'warm' | 'rt' | 'rt100') => PairScorer | Promise<PairScorer>) => {
    const w = await make(split.trainSeeds, 'warm');
    const r = await make(rtSeeds, 'rt');
    const r100 = await make(rt100Seeds, 'rt100');
    const m100 = measure(r100, { ...rt, precUsers: [] }, trainReads, false);
    add({ model, kind, seconds: typeof seconds === 'number' ? seconds : seconds(), warm: measure(w, warm, trainReads), realtime: measure(r, rt, trainReads), realtime100: { auc: m100.auc, itemAuc: m100.itemAuc, items: m100.items } });
    for (const s of [w, r, r100]) s.dispose?.();
  };
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const t = performance.now();
    const value = await work();
    return [value, (performance.now() - t) / 1000];
  };
  const fitBudget = (share: number) => Math.max(10_000, Math.min(by(share) - Date.now(), 180_000));

  if (only.has('LR')) {
    let seconds = 0;
    await row('LR', 'trained', () => seconds, async (seeds, which) => {
      const [scorer, s] = await timed(() => fitLogisticRegressionPerCandidate({ ...split, trainSeeds: seeds }, { seed, budgetMs: fitBudget(which === 'warm' ? 0.06 : which === 'rt' ? 0.08 : 0.1) }));
      if (which === 'warm') seconds = s;
      return scorer;
    });
  }
  if (only.has('Yahoo Look-alike Model')) {
    let seconds = 0;
    await row('Yahoo Look-alike Model', 'trained', () => seconds, async (seeds, which) => {
      const [scorer, s] = await timed(() => fitYahooLookalike({ ...split, trainSeeds: seeds }, { seed }));
      if (which === 'warm') seconds = s;
      return scorer;
    });
  }
  const figure5: EvalReport['figure5'] = { attention: [], concatenation: [] };
  const deadline = (phase1Share: number, phase2Share: number) => (phase: Phase) => by(phase === 'user_representation' ? phase1Share : phase2Share);
  const progress = (name: string) => (p: Progress) => {
    if (p.batch === p.batches) log(`  ${name}, ${p.phase === 'lookalike' ? 'phase 2' : 'phase 1'} epoch ${p.epoch}/${p.epochs}: train loss ${p.loss.toFixed(4)}`);
  };
  if (only.has('YouTube DNN')) {
    log('YouTube DNN: phase 1 with the concatenation tower');
    const fit = await fitNeural(split, { ...config, tower: 'concatenation', phase2Epochs: 0 }, warmTest, 8, { deadline: deadline(0.32, 0.32), onProgress: progress('YouTube DNN') });
    figure5.concatenation = fit.curve;
    add({
      model: 'YouTube DNN', kind: 'trained', seconds: fit.seconds, warm: measure(youtubeScorer(fit.model), warm, trainReads), realtime: null, realtime100: null,
      unavailable: 'cannot score a fresh item: its score is u·x_i with an item embedding learned from the item’s own clicks, and a fresh item has none',
    });
    fit.model.dispose();
  }
  const figure6: Figure6Point[] = [];
  const phase2: EvalReport['phase2'] = { startValidationAuc: NaN, validationAuc: NaN, bestEpoch: NaN };
  if (only.has('RALM') || only.has('RALM with average')) {
    log('RALM: phase 1 with the attention merge tower, then phase 2');
    let phase2Start: Checkpoint | undefined;
    const fit = await fitNeural(split, { ...config, tower: 'attention_merge' }, warmTest, 8, {
      deadline: deadline(0.54, 0.7),
      onProgress: progress('RALM'),
      onCheckpoint: async (c) => {
        if (c.phase === 'lookalike' && c.epochsDone === 0) phase2Start = c;
      },
    });
    figure5.attention = fit.curve;
    const m = fit.model.info.metrics;
    phase2.startValidationAuc = m.phase2_start_validation_auc ?? NaN;
    phase2.validationAuc = m.validation_auc ?? NaN;
    phase2.bestEpoch = m.phase2_best_epoch ?? NaN;
    log(`RALM phase 2: validation AUC ${f3(phase2.startValidationAuc)} at its calibrated start, ${f3(phase2.validationAuc)} kept (epoch ${phase2.bestEpoch})`);
    for (const [key, what] of [['user_representation_stopped_at_deadline', 'phase 1'], ['lookalike_stopped_at_deadline', 'phase 2']] as const) {
      if (m[key]) notes.push(`RALM's ${what} stopped at its share of the time budget.`);
    }
    const { universal } = fit.model.store;
    const d = config.userDim;
    await row('Popularity (seed count)', 'floor', 0, (seeds) => seedCountScorer(seeds));
    await row('cos(u, mean seed)', 'floor', 0, (seeds) => cosMeanScorer(universal, d, seeds));
    await row('max-centroid cosine', 'floor', 0, (seeds) => maxCentroidScorer(universal, d, seeds, config.clusters, config.maxSeedsPerItem, seed));
    const fromStart = (c: ModelConfig, share: number) => train(trainView(split), c, { resumeFrom: phase2Start, deadline: () => by(share) });
    const scorerOf = (model: RalmModel, name: string, k?: number) => (seeds: Int32Array[]) => lookalikeScorer(model, split, name, seed, k, seeds);
    {
      const untrained = await fromStart({ ...config, phase2Epochs: 0 }, 1);
      await row(UNTRAINED_PHASE2, 'floor', 0, scorerOf(untrained, UNTRAINED_PHASE2));
      untrained.dispose();
    }
    if (only.has('RALM with average')) {
      const [avg, s] = await timed(() => fromStart({ ...config, seedPooling: 'average' }, 0.8));
      await row('RALM with average', 'trained', s, scorerOf(avg, 'RALM with average'));
      avg.dispose();
    }
    if (only.has('RALM')) {
      await row('RALM', 'trained', fit.seconds, scorerOf(fit.model, 'RALM'));
      await row(WITH_PRIOR, 'ranking', 0, (seeds) => withSeedPrior(lookalikeScorer(fit.model, split, 'RALM', seed, undefined, seeds), seeds, priorWeight));
    }
    const sweep = sweepConfig(config, quick);
    // A phase-2 sample costs about linearly in k: the next k is started only if it should fit.
    let last = { k: 1, ms: 0 };
    for (const k of kSweep) {
      const remaining = by(0.95) - Date.now();
      if (remaining < Math.max(30_000, (last.ms * k) / last.k)) {
        notes.push(`Figure 6 stopped before k = ${k}: the time budget ran out.`);
        break;
      }
      const t = Date.now();
      log(`Figure 6: phase 2 with k = ${k} (${sweep.phase2Epochs} epoch of ${sweep.phase2SamplesPerEpoch} samples)`);
      const model = await train(trainView(split), { ...sweep, clusters: k }, { resumeFrom: phase2Start, deadline: () => by(0.93) });
      const r = measure(lookalikeScorer(model, split, `RALM k=${k}`, seed, k, rtSeeds), rt, trainReads);
      const r100 = measure(lookalikeScorer(model, split, `RALM k=${k}`, seed, k, rt100Seeds), { ...rt, precUsers: [] }, trainReads, false);
      const w = measure(lookalikeScorer(model, split, `RALM k=${k}`, seed, k), { ...warm, precUsers: [] }, trainReads, false);
      figure6.push({ k, realtimeItemAuc: r.itemAuc, realtime100ItemAuc: r100.itemAuc, warmAuc: w.auc, warmItemAuc: w.itemAuc, 'prec@10': r['prec@10'], 'prec@50': r['prec@50'] });
      log(`  k = ${k}: real time item-AUC ${f3(r.itemAuc)}, warm AUC ${f3(w.auc)}`);
      model.dispose();
      last = { k, ms: Date.now() - t };
    }
    figure6.sort((a, b) => a.k - b.k);
    fit.model.dispose();
  }
  rows.sort((a, b) => ROW_ORDER.indexOf(a.model) - ROW_ORDER.indexOf(b.model));
  return {
    dataset: {
      users: dataset.users.ids.length,
      items: dataset.items.ids.length,
      events: dataset.events.user.length,
      clicks,
      fingerprint: dataset.fingerprint,
      cutoff: full.cutoff,
      trainEvents: full.trainEvents.length,
      testEvents: full.testEvents.length,
      freshTrainEvents: full.trainEvents.length - split.trainEvents.length,
      testSamples: warmTest.users.length,
      testItemsWithoutSeeds: warmTest.droppedItems - fresh.items.length,
      candidates: warmPool.length,
      precUsers: warm.precUsers.length,
      freshItems: fresh.items.length,
      freshSeedsMedian: seedCounts[seedCounts.length >> 1] ?? 0,
      freshSeedsMax: seedCounts.at(-1) ?? 0,
      freshTestSamples: rtTest.users.length,
      freshPrecUsers: rt.precUsers.length,
      freshOptions: fresh.options,
      priorWeight,
    },
    config: { ...config },
    rows,
    figure5,
    figure6,
    phase2,
    notes,
    seconds: (Date.now() - started) / 1000,
  };
}

export type { TimeSplit };
