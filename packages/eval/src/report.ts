import fs from 'node:fs/promises';
import path from 'node:path';
import { PAPER_TABLE1, type EvalReport, type Table1Row } from './run';
import { lineChart } from './svg';

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
const kindLabel = (r: Table1Row) => (r.kind === 'floor' ? ' *(floor)*' : r.kind === 'ranking' ? ' *(ranking)*' : '');

/** The real-time table (the headline), the warm table beside the paper's, and what each figure rests on. */
export function table1Markdown(report: EvalReport): string {
  const d = report.dataset;
  const na = (r: Table1Row) => `n/a${r.unavailable ? ` (${r.unavailable})` : ''}`;
  const realtime = [
    '**Real time** — fresh items held out of all training, scored only through their seeds:',
    '',
    '| model | item-AUC | item-AUC, earliest 100 seeds | pooled AUC | prec@10 | prec@50 | prec@10 /K | prec@50 /K |',
    '|---|---|---|---|---|---|---|---|',
    ...report.rows.map((r) =>
      r.realtime
        ? `| ${r.model}${kindLabel(r)} | ${f4(r.realtime.itemAuc)} | ${f4(r.realtime100?.itemAuc ?? NaN)} | ${f4(r.realtime.auc)} | ${f4(r.realtime['prec@10'])} | ${f4(r.realtime['prec@50'])} | ${f4(r.realtime['prec@10/K'])} | ${f4(r.realtime['prec@50/K'])} |`
        : `| ${r.model}${kindLabel(r)} | ${na(r)} | | | | | | |`,
    ),
  ];
  const warm = [
    '**Warm** — the paper\'s protocol: items with train seeds, test events after the cutoff:',
    '',
    '| model | AUC | item-AUC | prec@10 | prec@50 | prec@10 /K | prec@50 /K | paper AUC | paper prec@10 | paper prec@50 | fit (s) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...report.rows.map((r) => {
      const p = (PAPER_TABLE1 as Record<string, [number, number, number] | undefined>)[r.model];
      const paper = p ? `${p[0].toFixed(4)} | ${p[1].toFixed(4)} | ${p[2].toFixed(4)}` : ' | | ';
      const w = r.warm;
      return w
        ? `| ${r.model}${kindLabel(r)} | ${f4(w.auc)} | ${f4(w.itemAuc)} | ${f4(w['prec@10'])} | ${f4(w['prec@50'])} | ${f4(w['prec@10/K'])} | ${f4(w['prec@50/K'])} | ${paper} | ${r.seconds.toFixed(0)} |`
        : `| ${r.model}${kindLabel(r)} | ${na(r)} | | | | | | ${paper} | ${r.seconds.toFixed(0)} |`;
    }),
  ];
  const lines = [
    ...realtime,
    '',
    ...warm,
    '',
    `Data: ${d.users} users, ${d.items} items, ${d.events} events (${d.clicks} clicks), ${d.fingerprint}. ` +
      `Split by time at ${new Date(d.cutoff * 1000).toISOString()}: ${d.trainEvents} train events (${d.freshTrainEvents} of them on fresh items, used only as their seeds), ${d.testEvents} test events.`,
    `Real time: ${d.freshItems} fresh items (first event within ${d.freshOptions.days} days before the cutoff, at least ${d.freshOptions.minSeeds} seeds, ${d.freshOptions.minTestEach} test clicks and non-clicks; median ${d.freshSeedsMedian}, max ${d.freshSeedsMax} seeds), ` +
      `${d.freshTestSamples} test samples (the item's own seeds left out); prec@K ranks the ${d.freshItems} fresh items for ${d.freshPrecUsers} test users who read one.`,
    `Warm: ${d.testSamples} test samples on the ${d.candidates} items with train seeds; prec@K ranks those ${d.candidates} items for ${d.precUsers} test users with a read.`,
    `prec@K: each user's reads before the cutoff are left out of their ranking and their reads; "prec@K" divides by min(K, |read|) (the spec), "/K" by K. ` +
      `item-AUC: each item's AUC over its test samples, averaged over items with both clicks and non-clicks (a per-item prior such as popularity cannot move it). ` +
      `*(floor)*: untrained; *(ranking)*: RALM's score + ${d.priorWeight}·ln(1 + seeds) (kernel \`rankingScore\`). Paper columns: WeChat data, comparable in order, not in level.`,
    `Phase 2 of RALM: validation AUC ${f4(report.phase2.startValidationAuc)} at its calibrated untrained start, ${f4(report.phase2.validationAuc)} kept (epoch ${report.phase2.bestEpoch}). Run time ${report.seconds.toFixed(0)} s.`,
    ...report.notes.map((n) => `\n${n}`),
  ];
  return lines.join('\n') + '\n';
}

export function figure5Svg(report: EvalReport): string[] {
  const series = (key: 'testAuc' | 'testLoss') => [
    { name: 'attention merge (RALM)', points: report.figure5.attention.map((p) => [p.batch, p[key]] as [number, number]) },
    { name: 'concatenation (YouTube DNN)', points: report.figure5.concatenation.map((p) => [p.batch, p[key]] as [number, number]) },
  ];
  return [
    lineChart({ title: 'Figure 5a — phase 1 test AUC', xLabel: 'batches', yLabel: 'test AUC (u·x)', series: series('testAuc') }),
    lineChart({ title: 'Figure 5b — phase 1 test loss', xLabel: 'batches', yLabel: 'sampled-softmax test loss', series: series('testLoss') }),
  ];
}

export function figure6Svg(report: EvalReport): string {
  return lineChart({
    title: 'Figure 6 — RALM against the number of seed clusters k',
    xLabel: 'k (log scale)',
    yLabel: 'metric',
    logX: true,
    series: [
      { name: 'real-time item-AUC', points: report.figure6.map((r) => [r.k, r.realtimeItemAuc] as [number, number]) },
      { name: 'real-time item-AUC, earliest 100', points: report.figure6.map((r) => [r.k, r.realtime100ItemAuc] as [number, number]) },
      { name: 'warm AUC', points: report.figure6.map((r) => [r.k, r.warmAuc] as [number, number]) },
      { name: 'prec@10', points: report.figure6.map((r) => [r.k, r['prec@10']] as [number, number]) },
      { name: 'prec@50', points: report.figure6.map((r) => [r.k, r['prec@50']] as [number, number]) },
    ],
  });
}

/** Writes table1.json, table1.md, figure5a/b.svg, figure6.svg and report.html into `dir`. */
export async function writeReport(report: EvalReport, dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const table = {
    rows: report.rows,
    phase2: report.phase2,
    seconds: report.seconds,
    dataset: report.dataset,
    config: report.config,
    figure5: report.figure5,
    figure6: report.figure6,
    notes: report.notes,
  };
  const [f5a, f5b] = figure5Svg(report);
  const f6 = figure6Svg(report);
  const md = table1Markdown(report);
  const files: Record<string, string> = {
    'table1.json': JSON.stringify(table, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
    'table1.md': md,
    'figure5a.svg': f5a!,
    'figure5b.svg': f5b!,
    'figure6.svg': f6,
    'report.html': `<!doctype html><html><head><meta charset="utf-8"><title>RALM offline evaluation</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}</style></head><body>
<h1>RALM offline evaluation</h1>
<p>This report reproduces the shape of the paper's Table 1, Figure 5 and Figure 6 on the data given to <code>ralm eval</code>. The paper's figures come from WeChat data and are shown for their order, not their level.</p>
${mdTableToHtml(md)}
<h2>Figure 5 — attention merge vs concatenation (phase 1)</h2>${f5a}${f5b}
<h2>Figure 6 — k seed clusters</h2>${f6}
</body></html>\n`,
  };
  for (const [name, body] of Object.entries(files)) await fs.writeFile(path.join(dir, name), body);
  return Object.keys(files).map((n) => path.join(dir, n));
}

function mdTableToHtml(md: string): string {
  const [head, , ...rest] = md.split('\n');
  const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());
  const body = rest.filter((l) => l.startsWith('|'));
  const text = rest.filter((l) => l && !l.startsWith('|'));
  return `<table><tr>${cells(head!).map((c) => `<th>${c}</th>`).join('')}</tr>${body.map((l) => `<tr>${cells(l).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>${text.map((t) => `<p>${t}</p>`).join('')}`;
}
