/**
 * The replay: day by day, every user who came back that day gets as many impressions as the
 * log gave them, from their arm's recommender; the response model decides each click; a
 * click grants one more impression with probability `engagement` (engaged users read on).
 *
 * Random draws are common to both arms: user u's day d draws from its own stream, two
 * numbers per impression (click, then engagement), so two arms that show a user the same
 * items get the same clicks, and no draw depends on the order users are simulated in.
 */
import type { Dataset } from '@ralm/data';
import { ArmAssigner, CONTROL_ARM } from '@ralm/experiment';
import type { ScoringKernel } from '@ralm/kernel';
import { Rng, type ServingModel } from '@ralm/model';
import { catalogOf, History, type Catalog } from './history';
import { lookalikeTable, rankedExtensions, userEmbeddings, type UserEmbeddings } from './lookalike';
import { armsOf, TREATMENT_ARM, type AbSimOptions } from './options';
import { ControlRecommender, treatmentSession, type Session } from './recommenders';
import { replayWindow, type ReplayWindow } from './replay';
import { ResponseModel, type ResponseModelSummary } from './response-model';

/** Arm codes in `Impressions.arm`. */
export const ARM_CODES = [CONTROL_ARM, TREATMENT_ARM] as const;
export type ArmName = (typeof ARM_CODES)[number];

/** One day's impressions of both arms, in simulation order, as parallel arrays. */
export interface Impressions {
  user: Int32Array;
  item: Int32Array;
  /** Index into ARM_CODES. */
  arm: Uint8Array;
  clicked: Uint8Array;
  /** 1 for a look-alike extension. */
  extension: Uint8Array;
}

/** How the treatment's extension went on one day. */
export interface ExtensionDay {
  /** Items in the popularity head (most clicked before the day). */
  headItems: number;
  /** Long-tail items with at least minSeeds seeds: the candidates look-alike scored. */
  candidates: number;
  /** Their seeds, clustered that morning. */
  seeds: number;
  /** Treatment users scored, and those with at least one candidate above the threshold. */
  scoredUsers: number;
  usersWithCandidates: number;
  extensionSlots: number;
  /** Extension slots that found no showable candidate and went to control's ranking. */
  unfilledSlots: number;
  extensionImpressions: number;
  extensionClicks: number;
}

export interface SimulatedDay {
  /** Unix seconds. */
  start: number;
  impressions: Impressions;
  extension: ExtensionDay;
}

export interface Simulation {
  window: ReplayWindow;
  /** Arm of every user row that has slots in the replay (others are absent). */
  armOf: Map<number, ArmName>;
  days: SimulatedDay[];
  response: ResponseModelSummary;
  /** Seed clusters per candidate (the model's k). */
  k: number;
  /** Users the model's store lacked, embedded from their profiles. */
  embeddedFromFeatures: number;
}

/** Mixes integers into a 32-bit seed (murmur3's finaliser after each one). */
export function mixSeed(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

export interface SimulateInputs {
  dataset: Dataset;
  serving: ServingModel;
  kernel: ScoringKernel;
  options: AbSimOptions;
  /** Progress lines; default none. */
  log?: (line: string) => void;
  /**
   * Arm of each user; default the options' `ArmAssigner`. Tests pin every user to one arm
   * to compare two policies on the very same users.
   */
  assign?: (userId: string) => ArmName;
}

/**
 * The held-out days ready to replay: the window, the fitted response model, every user's
 * embeddings and arm. `run` replays them, as often as asked, each time from the same past.
 */
export class Replay {
  readonly window: ReplayWindow;
  readonly response: ResponseModel;
  /** Arm of every user row that has slots in the replay. */
  readonly armOf = new Map<number, ArmName>();
  private readonly catalog: Catalog;
  private readonly emb: UserEmbeddings;
  private readonly log: (line: string) => void;

  constructor(private readonly inputs: SimulateInputs) {
    const { dataset, serving, options: o } = inputs;
    this.log = inputs.log ?? (() => {});
    this.window = replayWindow(dataset, o.days);
    this.catalog = catalogOf(dataset);
    this.response = ResponseModel.fit(dataset, this.catalog);
    this.log(`response model: ${this.response.summary.fittedEvents} logged events, in-sample AUC ${this.response.summary.auc.toFixed(3)}`);
    this.emb = userEmbeddings(serving, dataset);
    const assigner = new ArmAssigner({ id: 'ab-sim', salt: o.salt, arms: armsOf(o.arms) });
    const assign = inputs.assign ?? ((id: string) => assigner.assign(id) as ArmName);
    for (const day of this.window.days) for (const u of day.users) if (!this.armOf.has(u)) this.armOf.set(u, assign(dataset.users.ids[u]!));
  }

  /** Replays every day with the treatment giving `extensionShare` of its slots to look-alike items. */
  run(extensionShare: number): Simulation {
    const { dataset, serving, kernel, options: o } = this.inputs;
    const { window, armOf, catalog, emb, response } = this;
    const history = History.fromLog(dataset, catalog, window.pastEvents);
    const control = new ControlRecommender(history);
    const k = serving.model.config.clusters;
    const nItems = catalog.category.length;
    const headSize = Math.ceil(o.headShare * nItems);
    const days: SimulatedDay[] = [];
    window.days.forEach((day, d) => {
      control.refresh();
      const byClicks = Array.from({ length: nItems }, (_, i) => i).sort((a, b) => history.itemClicks[b]! - history.itemClicks[a]! || a - b);
      const longTail = Int32Array.from(byClicks.slice(headSize).filter((i) => history.seedCount(i) >= o.minSeeds)).sort();
      const ext: ExtensionDay = { headItems: headSize, candidates: longTail.length, seeds: 0, scoredUsers: 0, usersWithCandidates: 0, extensionSlots: 0, unfilledSlots: 0, extensionImpressions: 0, extensionClicks: 0 };
      const extensions = new Map<number, Int32Array>();
      const treated = day.users.filter((u) => armOf.get(u) === TREATMENT_ARM);
      if (extensionShare > 0 && longTail.length > 0 && treated.length > 0) {
        const seeds = Array.from(longTail, (i) => Int32Array.from(history.seeds[i]!).sort());
        ext.seeds = seeds.reduce((s, x) => s + x.length, 0);
        const table = lookalikeTable(serving, emb, longTail, seeds, k, mixSeed(o.seed, d, 7));
        const ranked = rankedExtensions(serving, emb, table, kernel, treated, o.threshold);
        treated.forEach((u, j) => extensions.set(u, ranked[j]!));
        ext.scoredUsers = treated.length;
        ext.usersWithCandidates = ranked.filter((l) => l.length > 0).length;
      }

      const out = { user: [] as number[], item: [] as number[], arm: [] as number[], clicked: [] as number[], extension: [] as number[] };
      const none = new Int32Array(0);
      day.users.forEach((u, j) => {
        const arm = armOf.get(u)!;
        const draws = new Rng(mixSeed(o.seed, u, d, 1));
        const seen = (i: number) => history.hasSeen(u, i);
        let session: Session = control.session(u);
        if (arm === TREATMENT_ARM) session = treatmentSession(session, extensions.get(u) ?? none, extensionShare, new Rng(mixSeed(o.seed, u, d, 2)).next(), seen);
        const shown = new Set<number>();
        const skip = (i: number) => shown.has(i);
        for (let remaining = day.counts[j]!; remaining > 0; remaining--) {
          const pick = session.next(skip);
          if (!pick) break;
          shown.add(pick.item);
          const clicked = draws.next() < response.probability(u, pick.item);
          if (draws.next() < o.engagement && clicked) remaining++;
          out.user.push(u);
          out.item.push(pick.item);
          out.arm.push(ARM_CODES.indexOf(arm));
          out.clicked.push(clicked ? 1 : 0);
          out.extension.push(pick.extension ? 1 : 0);
          if (pick.extensionSlot) ext.extensionSlots++;
          if (pick.extensionSlot && !pick.extension) ext.unfilledSlots++;
          if (pick.extension) {
            ext.extensionImpressions++;
            if (clicked) ext.extensionClicks++;
          }
        }
      });
      // The day ends: both arms' traffic joins what tomorrow's models know.
      out.user.forEach((u, e) => history.record(u, out.item[e]!, out.clicked[e] === 1, true));
      const impressions: Impressions = {
        user: Int32Array.from(out.user),
        item: Int32Array.from(out.item),
        arm: Uint8Array.from(out.arm),
        clicked: Uint8Array.from(out.clicked),
        extension: Uint8Array.from(out.extension),
      };
      days.push({ start: day.start, impressions, extension: ext });
      this.log(`day ${d + 1}/${window.days.length}, extension share ${extensionShare}: ${day.users.length} users, ${impressions.user.length} impressions; ` +
        `${longTail.length} long-tail candidates, ${ext.extensionImpressions} extensions (${ext.extensionClicks} clicked)`);
    });
    return { window, armOf, days, response: response.summary, k, embeddedFromFeatures: emb.fromFeatures };
  }
}

/** Replays the held-out days against both arms, the treatment extending `options.extensionShare` of its slots. */
export function simulate(inputs: SimulateInputs): Simulation {
  return new Replay(inputs).run(inputs.options.extensionShare);
}
