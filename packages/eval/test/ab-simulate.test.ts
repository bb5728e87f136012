import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, type Dataset } from '@ralm/data';
import {
  AbOptionError,
  armMeasures,
  armStats,
  dayMeasures,
  MEASURES,
  replayWindow,
  resolveAbOptions,
  runAbSimulation,
  simulate,
  splitByTime,
  userEmbeddings,
  writeAbReport,
  type AbReport,
  type AbSimOptions,
  type Simulation,
} from '@ralm/eval';
import { loadKernel } from '@ralm/kernel';
import { assignVersion, DEFAULT_MODEL_CONFIG, loadServingModel, saveModel, selectBackend, train, type ServingModel } from '@ralm/model';

// Training is CPU-bound and the suite may share two cores: a safety net, not a speed check.
jest.setTimeout(60_000);

/** Small, but trained enough for look-alike embeddings to tell users apart (tests/support/tiny-model.ts LOOKALIKE_MODEL, k = 3). */
const MODEL = { ...DEFAULT_MODEL_CONFIG, userDim: 32, lookalikeDim: 32, fieldDim: 16, attentionSize: 16, hidden: [64], clusters: 3, phase1Epochs: 3, phase2Epochs: 2, batchSize: 128, learningRate: 0.005, seed: 3 };
/** The tiny data has few seeds per item and a young model: extend below the defaults' bars. */
const SMALL: Partial<AbSimOptions> = { minSeeds: 5, threshold: 0.01, bootstrap: 50 };

describe('the A/B simulator', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-ab-'));
  let dataset: Dataset;
  let serving: ServingModel;
  const kernel = loadKernel();
  const run = (options: Partial<AbSimOptions>, assign?: () => 'control' | 'treatment'): Simulation =>
    simulate({ dataset, serving, kernel, options: resolveAbOptions({ ...SMALL, ...options }), assign });

  beforeAll(async () => {
    await selectBackend();
    dataset = synthesize({ users: 800, items: 60, seed: 21 });
    const model = await train(dataset, MODEL);
    const modelDir = path.join(dir, 'models', assignVersion(model));
    await saveModel(model, modelDir);
    model.dispose();
    serving = await loadServingModel(modelDir);
  });
  afterAll(() => {
    serving?.model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("replays what the eval split holds out, or the last n UTC days", () => {
    const split = splitByTime(dataset);
    const byDefault = replayWindow(dataset);
    expect(byDefault.cutoff).toBe(split.cutoff);
    expect(byDefault.pastEvents).toEqual(split.trainEvents);
    const slots = byDefault.days.reduce((s, d) => s + d.counts.reduce((a, b) => a + b, 0), 0);
    expect(slots).toBe(split.testEvents.length);

    const two = replayWindow(dataset, 2);
    expect(two.days).toHaveLength(2);
    expect(two.cutoff % 86_400).toBe(0);
    expect(() => replayWindow(dataset, 14)).toThrow(AbOptionError);
  });

  it('never shows a user the same item twice a day, nor one they read before the replay', () => {
    const sim = run({});
    const readBefore = new Set<string>();
    for (const e of sim.window.pastEvents) if (dataset.events.label[e] === 1) readBefore.add(`${dataset.events.user[e]}:${dataset.events.item[e]}`);
    let impressions = 0;
    for (const day of sim.days) {
      const shown = new Set<string>();
      const imp = day.impressions;
      for (let e = 0; e < imp.user.length; e++) {
        const key = `${imp.user[e]}:${imp.item[e]}`;
        expect(shown.has(key)).toBe(false);
        expect(readBefore.has(key)).toBe(false);
        shown.add(key);
      }
      impressions += imp.user.length;
    }
    expect(impressions).toBeGreaterThan(1000);
  });

  it('with extension share 0, treatment shows the same users exactly what control shows them', () => {
    const control = run({ extensionShare: 0 }, () => 'control');
    const treatment = run({ extensionShare: 0 }, () => 'treatment');
    control.days.forEach((day, d) => {
      const t = treatment.days[d]!.impressions;
      expect(t.user).toEqual(day.impressions.user);
      expect(t.item).toEqual(day.impressions.item);
      expect(t.clicked).toEqual(day.impressions.clicked);
      expect(t.arm.every((a) => a === 1)).toBe(true);
    });
    expect(armMeasures(armStats(treatment, dataset).treatment)).toEqual(armMeasures(armStats(control, dataset).control));

    // Split into arms, the same policy differs only by who landed where: no change beyond chance.
    const aa = runAbSimulation({ dataset, serving, kernel, options: resolveAbOptions({ ...SMALL, extensionShare: 0 }) });
    expect(aa.arms.treatment.extensions).toBe(0);
    for (const row of aa.table2) {
      expect(row.ci95[0]).toBeLessThanOrEqual(0);
      expect(row.ci95[1]).toBeGreaterThanOrEqual(0);
    }
    // The paired replay of the same users with and without an extension of nothing: no change at all.
    for (const row of aa.sameUsers) {
      expect(row.withExtension).toBe(row.withoutExtension);
      expect(row.ci95).toEqual([0, 0]);
    }
  });

  it("embeds users the model's store lacks from their profile fields, as the store embedded them", () => {
    const renamed: Dataset = { ...dataset, users: { ...dataset.users, ids: dataset.users.ids.map((id, u) => (u % 10 === 0 ? `new-${id}` : id)) } };
    const emb = userEmbeddings(serving, renamed);
    expect(emb.fromFeatures).toBe(Math.ceil(dataset.users.ids.length / 10));
    const h = emb.h;
    let nonZero = 0;
    for (let u = 0; u < dataset.users.ids.length; u += 10) {
      const row = serving.rows.get(dataset.users.ids[u]!)!;
      const stored = serving.lookalike.subarray(row * h, row * h + h);
      if (stored.some((v) => v !== 0)) nonZero++;
      emb.lookalike.subarray(u * h, u * h + h).forEach((v, t) => expect(v).toBeCloseTo(stored[t]!, 4));
    }
    expect(nonZero).toBeGreaterThan(10);
  });

  it('measures each arm from per-user sums exactly as exactMeasures does day by day', () => {
    const sim = run({});
    const stats = armStats(sim, dataset);
    for (const arm of ['control', 'treatment'] as const) {
      const days = sim.days.map((day) => dayMeasures(day, dataset).get(arm)!);
      const sum = (f: (m: (typeof days)[number]) => number) => days.reduce((s, m) => s + f(m), 0);
      const m = armMeasures(stats[arm]);
      // Nothing is shown twice to a user, so distinct exposures add up over days.
      expect(m.exposure).toBeCloseTo(sum((d) => d.exposures) / stats[arm].users.length, 12);
      expect(m.ctr).toBeCloseTo(sum((d) => d.clicks) / sum((d) => d.exposureEvents), 12);
      expect(m.categoryDiversity).toBeCloseTo(sum((d) => d.categoryDiversity.mean * d.categoryDiversity.readers) / sum((d) => d.categoryDiversity.readers), 12);
      expect(m.tagDiversity).toBeCloseTo(sum((d) => d.tagDiversity.mean * d.tagDiversity.readers) / sum((d) => d.tagDiversity.readers), 12);
      expect(m.gini).toBeCloseTo(sum((d) => d.gini) / days.length, 12);
    }
  });

  it('writes ab.json and ab.md: all five measures with finite intervals, the paper beside them, and the simulation statement', async () => {
    const report = runAbSimulation({ dataset, serving, kernel, options: resolveAbOptions(SMALL), modelDir: 'tiny' });
    expect(report.arms.treatment.extensions).toBeGreaterThan(0);
    expect(report.arms.control.extensions).toBe(0);
    const out = path.join(dir, 'report');
    const files = await writeAbReport(report, out);
    expect(files.map((f) => path.basename(f))).toEqual(['ab.json', 'ab.md']);

    const json = JSON.parse(fs.readFileSync(path.join(out, 'ab.json'), 'utf8')) as AbReport;
    expect(json.simulation).toBe(true);
    expect(json.statement).toMatch(/^SIMULATION, not an online experiment/);
    expect(json.table2.map((r) => r.measure)).toEqual([...MEASURES]);
    for (const row of json.table2) {
      for (const x of [row.control, row.treatment, row.change, ...row.ci95]) expect(Number.isFinite(x)).toBe(true);
      expect(row.ci95[0]).toBeLessThanOrEqual(row.ci95[1]);
      expect(Number.isFinite(row.paper)).toBe(true);
    }
    expect(json.sameUsers.map((r) => r.measure)).toEqual([...MEASURES]);
    for (const row of json.sameUsers) for (const x of [row.withoutExtension, row.withExtension, row.change, ...row.ci95]) expect(Number.isFinite(x)).toBe(true);
    expect(json.dataset.fingerprint).toBe(dataset.fingerprint);
    expect(json.model.version).toBe(serving.version);
    expect(json.model.trainedOnThisData).toBe(true);
    expect(json.perDay.length).toBe(json.dataset.replayedDays);
    expect(json.giniDirection).toMatch(/FALL means clicks spread over more items/);

    const md = fs.readFileSync(path.join(out, 'ab.md'), 'utf8');
    expect(md).toMatch(/SIMULATION, not an online experiment/);
    expect(md).toMatch(/\| measure \| control \| treatment \| relative change \[95% CI\] \| paper \(online\) \|/);
    for (const label of ['Exposure', 'CTR', 'Category diversity', 'Tag diversity', 'Gini']) expect(md).toMatch(new RegExp(`\\n\\| ${label}`));
    expect(md).toMatch(/\+9\.112%/);

    // Everything random hangs off --seed: the same seed gives the same report.
    expect(runAbSimulation({ dataset, serving, kernel, options: resolveAbOptions(SMALL), modelDir: 'tiny' }).table2).toEqual(report.table2);
  });
});
