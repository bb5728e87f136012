import { relativeChange } from '@ralm/experiment';
import { Rng } from '@ralm/model';
import { armMeasures, armStats, dayMeasures, MEASURES, type ArmStats, type MeasureName } from './arm-measures';
import { bootstrapRelativeChanges } from './bootstrap';
import { CONTROL_PARAMETERS } from './recommenders';
import { GINI_DIRECTION, MEASURE_LABELS, PAPER_TABLE2, percent, SIMULATION_STATEMENT } from './report';
import type { ResponseModelSummary } from './response-model';
import { ARM_CODES, mixSeed, Replay, type ArmName, type ExtensionDay, type SimulateInputs } from './simulate';
import type { AbSimOptions } from './options';

/** One measure of Table 2: both arms, the relative change with its 95% interval, and the paper's figure. */
export interface Table2Row {
  measure: MeasureName;
  label: string;
  control: number;
  treatment: number;
  /** treatment / control − 1. */
  change: number;
  /** 95% percentile interval of the change from the user-level bootstrap. */
  ci95: [number, number];
  /** Bootstrap replicates with a finite change. */
  finiteReplicates: number;
  /** The paper's online relative change (Table 2), for its direction. */
  paper: number;
}

/** One measure of the treatment arm's users without and with the extension, paired. */
export interface SameUsersRow {
  measure: MeasureName;
  label: string;
  withoutExtension: number;
  withExtension: number;
  change: number;
  /** 95% percentile interval of the paired user-level bootstrap. */
  ci95: [number, number];
  finiteReplicates: number;
}

/** A day's figures per arm, from `exactMeasures` on that day's events. */
export interface DayFigures {
  day: number;
  /** ISO time the day starts. */
  start: string;
  /** itemsExposed, itemsClicked: distinct items the arm showed, and got clicks on, that day (the Gini's support). */
  arms: Record<ArmName, { users: number; exposureEvents: number; clicks: number; itemsExposed: number; itemsClicked: number; exposurePerUser: number; ctr: number; categoryDiversity: number; tagDiversity: number; gini: number }>;
  change: Record<MeasureName, number>;
  extension: ExtensionDay;
}

/** Everything ab.json holds. */
export interface AbReport {
  /** Always true: these figures come from a simulation, not from users. */
  simulation: true;
  statement: string;
  options: AbSimOptions;
  dataset: {
    fingerprint: string;
    users: number;
    items: number;
    events: number;
    /** Unix seconds where the replay starts. */
    cutoff: number;
    cutoffIso: string;
    pastEvents: number;
    replayedDays: number;
    /** Logged held-out events: the impressions the simulation hands out before engagement. */
    loggedSlots: number;
  };
  model: {
    version: string;
    dir?: string;
    dataFingerprint: string;
    /** The model was trained on this dataset, replayed days included. */
    trainedOnThisData: boolean;
    k: number;
    alpha: number;
    beta: number;
    seedPooling: string;
    kernel: string;
    /** Users the model's store lacked, embedded from their profile fields. */
    embeddedFromFeatures: number;
  };
  /** loggedSlotsPerUser: logged held-out events per user, the impressions before engagement; it differs between arms by chance only. */
  arms: Record<ArmName, { users: number; loggedSlotsPerUser: number; impressions: number; clicks: number; extensions: number }>;
  table2: Table2Row[];
  /**
   * The treatment arm's users replayed twice, with the extension and without it (same
   * days, slots and random draws): the extension's effect on the same people, free of who
   * landed in which arm. Only a simulation can measure it; a live test cannot.
   */
  sameUsers: SameUsersRow[];
  paper: typeof PAPER_TABLE2;
  giniDirection: string;
  responseModel: ResponseModelSummary & { engagement: number };
  recommenders: { control: typeof CONTROL_PARAMETERS; treatment: { extensionShare: number; minSeeds: number; headShare: number; threshold: number } };
  perDay: DayFigures[];
  notes: string[];
}

/** Simulates both arms over the held-out days and measures them (see docs/AB-SIMULATOR.md). */
export function runAbSimulation(inputs: SimulateInputs & { modelDir?: string }): AbReport {
  const { dataset, serving, kernel, options: o } = inputs;
  const replay = new Replay(inputs);
  const sim = replay.run(o.extensionShare);
  const stats = armStats(sim, dataset);
  const values = (arm: ArmStats, weights?: Float64Array) => {
    const v = armMeasures(arm, weights);
    return MEASURES.map((m) => v[m]);
  };
  const changes = bootstrapRelativeChanges(
    { control: stats.control.users.length, treatment: stats.treatment.users.length },
    (arm, weights) => values(stats[arm], weights),
    { replicates: o.bootstrap, rng: new Rng(mixSeed(o.seed, 99)) },
  );
  const table2 = MEASURES.map((measure, m): Table2Row => {
    const c = changes[m]!;
    return { measure, label: MEASURE_LABELS[measure], control: c.control, treatment: c.treatment, change: c.change, ci95: [c.low, c.high], finiteReplicates: c.finiteReplicates, paper: PAPER_TABLE2[measure] };
  });
  const withoutExtension = armStats(replay.run(0), dataset).treatment;
  const paired = bootstrapRelativeChanges(
    { control: withoutExtension.users.length, treatment: stats.treatment.users.length },
    (side, weights) => values(side === 'control' ? withoutExtension : stats.treatment, weights),
    { replicates: o.bootstrap, rng: new Rng(mixSeed(o.seed, 98)), paired: true },
  );
  const sameUsers = MEASURES.map((measure, m): SameUsersRow => {
    const c = paired[m]!;
    return { measure, label: MEASURE_LABELS[measure], withoutExtension: c.control, withExtension: c.treatment, change: c.change, ci95: [c.low, c.high], finiteReplicates: c.finiteReplicates };
  });

  const loggedSlots = Object.fromEntries(ARM_CODES.map((a) => [a, 0])) as Record<ArmName, number>;
  for (const day of sim.window.days) day.users.forEach((u, j) => (loggedSlots[sim.armOf.get(u)!] += day.counts[j]!));
  const arms = Object.fromEntries(
    ARM_CODES.map((a) => [a, { users: stats[a].users.length, loggedSlotsPerUser: loggedSlots[a] / stats[a].users.length, impressions: 0, clicks: 0, extensions: 0 }]),
  ) as AbReport['arms'];
  for (const day of sim.days) {
    const imp = day.impressions;
    for (let e = 0; e < imp.user.length; e++) {
      const a = arms[ARM_CODES[imp.arm[e]!]!];
      a.impressions++;
      a.clicks += imp.clicked[e]!;
      a.extensions += imp.extension[e]!;
    }
  }
  const perDay = sim.days.map((day, d): DayFigures => {
    const measured = dayMeasures(day, dataset);
    const users = Object.fromEntries(ARM_CODES.map((a) => [a, 0])) as Record<ArmName, number>;
    for (const u of sim.window.days[d]!.users) users[sim.armOf.get(u)!]++;
    const exposed = ARM_CODES.map(() => new Set<number>());
    const clicked = ARM_CODES.map(() => new Set<number>());
    const imp = day.impressions;
    for (let e = 0; e < imp.user.length; e++) {
      exposed[imp.arm[e]!]!.add(imp.item[e]!);
      if (imp.clicked[e]) clicked[imp.arm[e]!]!.add(imp.item[e]!);
    }
    const figures = Object.fromEntries(
      ARM_CODES.map((a, code) => {
        const m = measured.get(a);
        return [a, {
          users: users[a],
          exposureEvents: m?.exposureEvents ?? 0,
          clicks: m?.clicks ?? 0,
          itemsExposed: exposed[code]!.size,
          itemsClicked: clicked[code]!.size,
          exposurePerUser: m && users[a] > 0 ? m.exposures / users[a] : NaN,
          ctr: m?.ctr ?? NaN,
          categoryDiversity: m?.categoryDiversity.mean ?? NaN,
          tagDiversity: m?.tagDiversity.mean ?? NaN,
          gini: m?.gini ?? NaN,
        }];
      }),
    ) as DayFigures['arms'];
    const pick = (a: ArmName, m: MeasureName) => (m === 'exposure' ? figures[a].exposurePerUser : figures[a][m]);
    const change = Object.fromEntries(MEASURES.map((m) => [m, relativeChange(pick('treatment', m), pick('control', m))])) as Record<MeasureName, number>;
    return { day: d + 1, start: new Date(day.start * 1000).toISOString(), arms: figures, change, extension: day.extension };
  });

  const info = serving.model.info;
  const trainedOnThisData = info.dataFingerprint === dataset.fingerprint;
  const activityGap = relativeChange(arms.treatment.loggedSlotsPerUser, arms.control.loggedSlotsPerUser);
  const notes = [
    ...(Math.abs(activityGap) > 0.02
      ? [`The arms' logged activity differs by ${percent(activityGap, 1)} (logged impressions per user, treatment vs control) before any treatment: ` +
        'per-user measures, exposure above all, carry that chance difference in who landed in which arm; another salt redraws the arms.']
      : []),
    ...(trainedOnThisData
      ? ['The model was trained on this very dataset, replayed days included, so its embeddings have seen the held-out clicks; train it on the events before the cutoff for a clean estimate.']
      : []),
    ...(sim.embeddedFromFeatures > 0 ? [`${sim.embeddedFromFeatures} users were absent from the model's store and were embedded from their profile fields.`] : []),
    'Both arms feed one history (item CTRs, category shares, seeds), as one production system would; the bootstrap treats users as independent and ignores that interference.',
  ];
  return {
    simulation: true,
    statement: SIMULATION_STATEMENT,
    options: o,
    dataset: {
      fingerprint: dataset.fingerprint,
      users: dataset.users.ids.length,
      items: dataset.items.ids.length,
      events: dataset.events.user.length,
      cutoff: sim.window.cutoff,
      cutoffIso: new Date(sim.window.cutoff * 1000).toISOString(),
      pastEvents: sim.window.pastEvents.length,
      replayedDays: sim.window.days.length,
      loggedSlots: sim.window.days.reduce((s, d) => s + d.counts.reduce((a, b) => a + b, 0), 0),
    },
    model: {
      version: serving.version,
      dir: inputs.modelDir,
      dataFingerprint: info.dataFingerprint,
      trainedOnThisData,
      k: sim.k,
      alpha: serving.alpha,
      beta: serving.beta,
      seedPooling: serving.model.config.seedPooling,
      kernel: kernel.name,
      embeddedFromFeatures: sim.embeddedFromFeatures,
    },
    arms,
    table2,
    sameUsers,
    paper: PAPER_TABLE2,
    giniDirection: GINI_DIRECTION,
    responseModel: { ...sim.response, engagement: o.engagement },
    recommenders: {
      control: CONTROL_PARAMETERS,
      treatment: { extensionShare: o.extensionShare, minSeeds: o.minSeeds, headShare: o.headShare, threshold: o.threshold },
    },
    perDay,
    notes,
  };
}
