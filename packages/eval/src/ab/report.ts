import fs from 'node:fs/promises';
import path from 'node:path';
import type { MeasureName } from './arm-measures';
import type { AbReport } from './run';

/** The paper's online A/B relative changes (Table 2), as fractions. */
export const PAPER_TABLE2: Readonly<Record<MeasureName, number>> = {
  exposure: 0.09112,
  ctr: 0.0109,
  categoryDiversity: 0.08435,
  tagDiversity: 0.15938,
  gini: 0.0536,
};

export const SIMULATION_STATEMENT =
  'SIMULATION, not an online experiment: logged held-out days were replayed against a control and a treatment recommender, ' +
  'and every click was drawn from a learned user-response model (a logistic regression fitted on the logged events). ' +
  'The figures estimate directions before going live; they are not measured user behaviour.';

export const GINI_DIRECTION =
  'Gini is the standard coefficient of clicks over the exposed items (0 = every exposed item clicked equally): a FALL means clicks ' +
  'spread over more items, i.e. more long-tail consumption. The paper uses the opposite reading (its +5.36% means more long tail), ' +
  'so a negative change here points the same way as the paper\'s positive one.';

export const MEASURE_LABELS: Readonly<Record<MeasureName, string>> = {
  exposure: 'Exposure (distinct user–item exposures per user)',
  ctr: 'CTR (clicks / exposures)',
  categoryDiversity: 'Category diversity (distinct categories read per reader-day)',
  tagDiversity: 'Tag diversity (distinct tags read per reader-day)',
  gini: 'Gini of clicks over exposed items (standard; mean of days)',
};

const DIGITS: Readonly<Record<MeasureName, number>> = { exposure: 3, ctr: 4, categoryDiversity: 3, tagDiversity: 3, gini: 4 };

const value = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const share = (x: number) => `${+(x * 100).toFixed(1)}%`;
/** A relative change as a signed percentage. */
export const percent = (x: number, digits = 2) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(digits)}%` : 'n/a');

/** The Table-2-style table: measure | control | treatment | relative change [95% CI] | paper. */
export function table2Markdown(report: AbReport): string {
  const rows = report.table2.map((r) => {
    const d = DIGITS[r.measure];
    const paper = `${percent(r.paper, r.measure === 'ctr' ? 2 : 3)}${r.measure === 'gini' ? ' (reversed scale)' : ''}`;
    return `| ${r.label} | ${value(r.control, d)} | ${value(r.treatment, d)} | ${percent(r.change)} [${percent(r.ci95[0])}, ${percent(r.ci95[1])}] | ${paper} |`;
  });
  return ['| measure | control | treatment | relative change [95% CI] | paper (online) |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The paired comparison: the treatment arm's users without and with the extension. */
export function sameUsersMarkdown(report: AbReport): string {
  const rows = report.sameUsers.map((r) => {
    const d = DIGITS[r.measure];
    return `| ${r.label} | ${value(r.withoutExtension, d)} | ${value(r.withExtension, d)} | ${percent(r.change)} [${percent(r.ci95[0])}, ${percent(r.ci95[1])}] |`;
  });
  return ['| measure | without extension | with extension | change [95% CI] |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** ab.md: the statement, the table, how it was made. */
export function abMarkdown(report: AbReport): string {
  const d = report.dataset;
  const o = report.options;
  const r = report.responseModel;
  const ext = report.perDay.reduce(
    (s, day) => ({ slots: s.slots + day.extension.extensionSlots, shown: s.shown + day.extension.extensionImpressions, clicks: s.clicks + day.extension.extensionClicks, unfilled: s.unfilled + day.extension.unfilledSlots }),
    { slots: 0, shown: 0, clicks: 0, unfilled: 0 },
  );
  const lines = [
    '# A/B simulation: the paper\'s Table 2',
    '',
    `**${report.statement}**`,
    '',
    table2Markdown(report),
    report.giniDirection,
    '',
    `Intervals: 95% percentile intervals of ${o.bootstrap} user-level bootstrap replicates (users redrawn within each arm).`,
    '',
    '## Same users, both ways',
    '',
    'The treatment arm\'s users replayed a second time with the extension switched off (same days, slots and random draws; ' +
      'only a simulation can do this). The paired change is the extension\'s effect on the same people, free of the chance ' +
      'differences between the arms that the table above carries; intervals from a paired user-level bootstrap.',
    '',
    sameUsersMarkdown(report),
    '## Setup',
    '',
    `- Data: ${d.users} users, ${d.items} items, ${d.events} events, ${d.fingerprint}. Replayed ${d.replayedDays} day(s) from ${d.cutoffIso} ` +
      `(${d.loggedSlots} logged impressions handed out again); the ${d.pastEvents} earlier events are the past both arms start from.`,
    `- Arms: ${o.arms} (salt '${o.salt}'): control ${report.arms.control.users} users with ${value(report.arms.control.loggedSlotsPerUser, 2)} logged impressions each, ` +
      `treatment ${report.arms.treatment.users} users with ${value(report.arms.treatment.loggedSlotsPerUser, 2)}; ` +
      `${report.arms.control.impressions} and ${report.arms.treatment.impressions} impressions simulated.`,
    `- Model ${report.model.version} (k = ${report.model.k}, α = ${report.model.alpha}, β = ${report.model.beta}, ${report.model.seedPooling} pooling), kernel ${report.model.kernel}.`,
    `- Treatment: ${share(o.extensionShare)} of slots to long-tail items (outside the ${share(o.headShare)} most clicked items, ≥ ${o.minSeeds} seeds) ` +
      `with look-alike score ≥ ${o.threshold}: ${ext.slots} extension slots, ${ext.shown} filled by look-alike (${ext.clicks} clicked), ${ext.unfilled} left to control.`,
    `- Response model: logistic regression on ${r.fittedEvents} logged events, in-sample AUC ${value(r.auc, 3)}; weights per SD: ` +
      `${r.features.map((f, j) => `${f} ${r.weightsPerSd[j]!.toFixed(3)}`).join(', ')}. Logged CTR ${value(r.loggedCtr, 4)}, mean predicted ${value(r.meanPredicted, 4)}. ` +
      `A click grants one more impression with probability ${r.engagement}.`,
    `- Seed ${o.seed}. Method and parameters: docs/AB-SIMULATOR.md.`,
    '',
    '## Per day (relative change, treatment vs control)',
    '',
    '| day | users (C / T) | exposure | CTR | category div. | tag div. | Gini | items exposed (C / T) | items clicked (C / T) | candidates | extensions |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...report.perDay.map(
      (day) =>
        `| ${day.day} | ${day.arms.control.users} / ${day.arms.treatment.users} | ${percent(day.change.exposure)} | ${percent(day.change.ctr)} | ` +
        `${percent(day.change.categoryDiversity)} | ${percent(day.change.tagDiversity)} | ${percent(day.change.gini)} | ` +
        `${day.arms.control.itemsExposed} / ${day.arms.treatment.itemsExposed} | ${day.arms.control.itemsClicked} / ${day.arms.treatment.itemsClicked} | ${day.extension.candidates} | ${day.extension.extensionImpressions} |`,
    ),
    '',
    ...report.notes.map((n) => `- ${n}`),
  ];
  return lines.join('\n') + '\n';
}

/** Writes ab.json and ab.md into `dir`; returns their paths. */
export async function writeAbReport(report: AbReport, dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const json = JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
  const files: Array<[string, string]> = [
    ['ab.json', json],
    ['ab.md', abMarkdown(report)],
  ];
  for (const [name, body] of files) await fs.writeFile(path.join(dir, name), body);
  return files.map(([name]) => path.join(dir, name));
}
