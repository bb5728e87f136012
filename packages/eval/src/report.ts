import fs from 'node:fs/promises';
import path from 'node:path';
import { PAPER_TABLE1, type EvalReport } from './run';
import { lineChart } from './svg';

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');

export function table1Markdown(report: EvalReport): string {
  const d = report.dataset;
  const lines = [
    '| model | AUC | prec@10 | prec@50 | paper AUC | paper prec@10 | paper prec@50 | fit (s) |',
    '|---|---|---|---|---|---|---|---|',
    ...report.rows.map((r) => {
      const p = PAPER_TABLE1[r.model];
      return `| ${r.model} | ${f4(r.auc)} | ${f4(r['prec@10'])} | ${f4(r['prec@50'])} | ${p[0].toFixed(4)} | ${p[1].toFixed(4)} | ${p[2].toFixed(4)} | ${r.seconds.toFixed(0)} |`;
    }),
    '',
    `Data: ${d.users} users, ${d.items} items, ${d.events} events (${d.clicks} clicks), ${d.fingerprint}. ` +
      `Split by time at ${new Date(d.cutoff * 1000).toISOString()}: ${d.trainEvents} train events, ${d.testEvents} test events, ` +
      `of which ${d.testSamples} on the ${d.candidates} items with train seeds are scored (AUC); prec@K ranks those ${d.candidates} items for ${d.precUsers} sampled test users with at least one read. ` +
      `Paper columns: WeChat data (Table 1 of the paper), not comparable in level, only in order.`,
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
      { name: 'AUC', points: report.figure6.map((r) => [r.k, r.auc] as [number, number]) },
      { name: 'prec@10', points: report.figure6.map((r) => [r.k, r['prec@10']] as [number, number]) },
      { name: 'prec@50', points: report.figure6.map((r) => [r.k, r['prec@50']] as [number, number]) },
    ],
  });
}

/** Writes table1.json, table1.md, figure5a/b.svg, figure6.svg and report.html into `dir`. */
export async function writeReport(report: EvalReport, dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const table = {
    rows: report.rows.map((r) => ({ model: r.model, auc: r.auc, 'prec@10': r['prec@10'], 'prec@50': r['prec@50'], seconds: r.seconds })),
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
