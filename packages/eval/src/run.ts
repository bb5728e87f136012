import type { Dataset } from '@ralm/data';
import { DEFAULT_MODEL_CONFIG, Rng, train, type Checkpoint, type ModelConfig } from '@ralm/model';
import { logisticRegressionPerCandidate } from './competitors/lr';
import { fitNeural, lookalikeScorer, trainView, youtubeScorer, type CurvePoint } from './competitors/neural';
import { yahooLookalike } from './competitors/yahoo';
import { auc, precisionAtK, rankTopK } from './metrics';
import { itemsBySeedCount, readsByUser, splitByTime, testSamples } from './split';
import type { PairScorer, TimeSplit } from './types';

export const COMPETITORS = ['LR', 'Yahoo Look-alike Model', 'YouTube DNN', 'RALM with average', 'RALM'] as const;
export type CompetitorName = (typeof COMPETITORS)[number];

/** The paper's Table 1 on WeChat data (AUC, prec@10, prec@50), printed beside ours. */
export const PAPER_TABLE1: Record<CompetitorName, [number, number, number]> = {
  LR: [0.5252, 0.0811, 0.0729],
  'Yahoo Look-alike Model': [0.5512, 0.1023, 0.0941],
  'YouTube DNN': [0.5903, 0.1217, 0.1087],
  'RALM with average': [0.5842, 0.1108, 0.098],
  RALM: [0.6012, 0.1295, 0.1099],
};

export interface EvalOptions {
  /** Competitors to run; default all. Figures need RALM (both) and YouTube DNN (Figure 5). */
  only?: CompetitorName[];
  /** Shrinks everything for tests and smoke runs. */
  quick?: boolean;
  /** Overall wall-clock cap: LR trains fewer items and the k sweep stops early when it runs short. */
  budgetMinutes?: number;
  seed?: number;
  /** k values of Figure 6. */
  kSweep?: number[];
  log?: (line: string) => void;
}

export interface Table1Row {
  model: CompetitorName;
  auc: number;
  'prec@10': number;
  'prec@50': number;
  /** Seconds to fit (phase-2 variants reuse RALM's phase 1 and count only their own training). */
  seconds: number;
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
    testSamples: number;
    testItemsWithoutSeeds: number;
    candidates: number;
    precUsers: number;
  };
  config: Partial<ModelConfig>;
  rows: Table1Row[];
  figure5: { attention: CurvePoint[]; concatenation: CurvePoint[] };
  figure6: Array<{ k: number; auc: number; 'prec@10': number; 'prec@50': number }>;
  notes: string[];
}

function evalConfig(quick: boolean, seed: number): ModelConfig {
  return quick
    ? { ...DEFAULT_MODEL_CONFIG, userDim: 32, lookalikeDim: 32, fieldDim: 16, attentionSize: 16, hidden: [64], phase1Epochs: 3, phase2Epochs: 2, batchSize: 128, learningRate: 0.005, phase2SamplesPerEpoch: 8000, validationFraction: 0.05, seed }
    : { ...DEFAULT_MODEL_CONFIG, phase1Epochs: 5, phase2Epochs: 3, learningRate: 0.002, phase2SamplesPerEpoch: 40_000, validationFraction: 0.05, seed };
}

/**
 * Figure 6 retrains phase 2 once per k; the cost of a phase-2 sample grows with
 * k, so the sweep uses a smaller, equal budget for every k (k = 20 included),
 * which keeps the points comparable with each other rather than with Table 1.
 */
function sweepConfig(config: ModelConfig, quick: boolean): ModelConfig {
  return { ...config, phase2Epochs: 1, phase2SamplesPerEpoch: quick ? 4000 : 20_000 };
}

/**
 * Trains and evaluates the paper's competitors on a time split (section 6):
 * AUC over the test events of items that have train seeds, prec@K over a
 * sample of test users ranking every such item, Figure 5 (attention merge vs
 * concatenation, test AUC and loss against phase-1 batches) and Figure 6
 * (RALM against k).
 */
export async function evaluate(dataset: Dataset, options: EvalOptions = {}): Promise<EvalReport> {
  const log = options.log ?? (() => {});
  const seed = options.seed ?? 1;
  const quick = options.quick ?? false;
  const deadline = options.budgetMinutes ? Date.now() + options.budgetMinutes * 60_000 : Infinity;
  const only = new Set<CompetitorName>(options.only ?? COMPETITORS);
  const kSweep = options.kSweep ?? (quick ? [5, 10, 20] : [5, 10, 20, 50, 100]);
  const config = evalConfig(quick, seed);

  const split = splitByTime(dataset);
  const test = testSamples(split);
  const reads = readsByUser(split);
  const candidates = itemsBySeedCount(split.trainSeeds);
  const readers = [...reads].filter(([, r]) => r.size > 0).map(([u]) => u);
  new Rng(seed).shuffle(readers);
  const precUsers = readers.slice(0, quick ? 300 : 1000);
  const precReads = new Map(precUsers.map((u) => [u, reads.get(u)!]));
  const clicks = dataset.events.label.reduce((a, b) => a + b, 0);
  log(`split at ${new Date(split.cutoff * 1000).toISOString()}: ${split.trainEvents.length} train / ${split.testEvents.length} test events; ` +
    `${test.users.length} test samples on ${candidates.length} items with seeds (${test.droppedItems} test items without seeds left out); prec@K over ${precUsers.length} users`);

  const rows: Table1Row[] = [];
  const measure = (scorer: PairScorer, seconds: number): Table1Row => {
    const scores = scorer.score(test.users, test.items);
    const top = rankTopK(scorer, precUsers, candidates, 50);
    const row: Table1Row = {
      model: scorer.name as CompetitorName,
      auc: auc(scores, test.labels),
      'prec@10': precisionAtK(top, precReads, 10),
      'prec@50': precisionAtK(top, precReads, 50),
      seconds,
    };
    scorer.dispose?.();
    log(`${row.model}: AUC ${row.auc.toFixed(4)}  prec@10 ${row['prec@10'].toFixed(4)}  prec@50 ${row['prec@50'].toFixed(4)}  (${seconds.toFixed(0)} s)`);
    return row;
  };
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const t = performance.now();
    const value = await work();
    return [value, (performance.now() - t) / 1000];
  };
  const remainingMs = () => deadline - Date.now();
  const notes: string[] = [];

  if (only.has('LR')) {
    const [scorer, s] = await timed(() => logisticRegressionPerCandidate(split, { seed, budgetMs: Math.max(10_000, Math.min(remainingMs() / 6, 180_000)) }));
    rows.push(measure({ ...scorer, name: 'LR' }, s));
  }
  if (only.has('Yahoo Look-alike Model')) {
    const [scorer, s] = await timed(() => yahooLookalike(split, { seed }));
    rows.push(measure({ ...scorer, name: 'Yahoo Look-alike Model' }, s));
  }
  const figure5: EvalReport['figure5'] = { attention: [], concatenation: [] };
  if (only.has('YouTube DNN')) {
    log('YouTube DNN: phase 1 with the concatenation tower');
    const fit = await fitNeural(split, { ...config, tower: 'concatenation', phase2Epochs: 0 }, test);
    figure5.concatenation = fit.curve;
    rows.push(measure(youtubeScorer(fit.model), fit.seconds));
    fit.model.dispose();
  }
  const figure6: EvalReport['figure6'] = [];
  if (only.has('RALM') || only.has('RALM with average')) {
    log('RALM: phase 1 with the attention merge tower, then phase 2');
    let phase2Start: Checkpoint | undefined;
    const fit = await fitNeural(split, { ...config, tower: 'attention_merge' }, test, 8, {
      onCheckpoint: async (c) => {
        if (c.phase === 'lookalike' && c.epochsDone === 0) phase2Start = c;
      },
    });
    figure5.attention = fit.curve;
    const ralm = measure(lookalikeScorer(fit.model, split, 'RALM', seed), fit.seconds);
    if (only.has('RALM with average')) {
      const [avg, s] = await timed(() => train(trainView(split), { ...config, seedPooling: 'average' }, { resumeFrom: phase2Start }));
      rows.push(measure(lookalikeScorer(avg, split, 'RALM with average', seed), s));
      avg.dispose();
    }
    if (only.has('RALM')) rows.push(ralm);
    const sweep = sweepConfig(config, quick);
    for (const k of kSweep) {
      if (remainingMs() < 60_000) {
        notes.push(`Figure 6 stopped before k = ${k}: the time budget ran out.`);
        break;
      }
      log(`Figure 6: phase 2 with k = ${k} (${sweep.phase2Epochs} epochs of ${sweep.phase2SamplesPerEpoch} samples)`);
      const model = await train(trainView(split), { ...sweep, clusters: k }, { resumeFrom: phase2Start });
      const row = measure(lookalikeScorer(model, split, `RALM k=${k}` as CompetitorName, seed, k), 0);
      figure6.push({ k, auc: row.auc, 'prec@10': row['prec@10'], 'prec@50': row['prec@50'] });
      model.dispose();
    }
    figure6.sort((a, b) => a.k - b.k);
    fit.model.dispose();
  }
  rows.sort((a, b) => COMPETITORS.indexOf(a.model) - COMPETITORS.indexOf(b.model));
  return {
    dataset: {
      users: dataset.users.ids.length,
      items: dataset.items.ids.length,
      events: dataset.events.user.length,
      clicks,
      fingerprint: dataset.fingerprint,
      cutoff: split.cutoff,
      trainEvents: split.trainEvents.length,
      testEvents: split.testEvents.length,
      testSamples: test.users.length,
      testItemsWithoutSeeds: test.droppedItems,
      candidates: candidates.length,
      precUsers: precUsers.length,
    },
    config: { ...config },
    rows,
    figure5,
    figure6,
    notes,
  };
}

export type { TimeSplit };
