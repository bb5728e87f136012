import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { synthesize } from '@ralm/data';
import { selectBackend } from '@ralm/model';
import { COMPETITORS, evaluate } from '../src/run';
import { writeReport } from '../src/report';

// Trains five models: a generous safety net for two busy cores, not a speed check.
jest.setTimeout(300_000);

describe('evaluate + writeReport (quick)', () => {
  it('runs every competitor on a time split and writes Table 1, Figures 5 and 6 and the HTML report', async () => {
    await selectBackend();
    const dataset = synthesize({ users: 1500, items: 150, seed: 21 });
    const lines: string[] = [];
    const report = await evaluate(dataset, { quick: true, kSweep: [5, 20], log: (l) => lines.push(l) });
    expect(report.rows.map((r) => r.model)).toEqual([...COMPETITORS]);
    for (const r of report.rows) {
      expect(r.auc).toBeGreaterThan(0);
      expect(r.auc).toBeLessThan(1);
      for (const k of ['prec@10', 'prec@50'] as const) expect(r[k]).toBeGreaterThanOrEqual(0);
    }
    // Honest metadata: the split and the sample sizes behind every figure.
    expect(report.dataset).toMatchObject({ users: 1500, items: 150 });
    expect(report.dataset.trainEvents + report.dataset.testEvents).toBe(report.dataset.events);
    expect(report.dataset.testSamples).toBeGreaterThan(0);
    expect(report.figure5.attention.length).toBeGreaterThan(3);
    expect(report.figure5.concatenation.length).toBeGreaterThan(3);
    expect(report.figure6.map((r) => r.k)).toEqual([5, 20]);
    for (const point of report.figure6) expect(point.auc).toBeGreaterThan(0);

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-report-'));
    const files = await writeReport(report, dir);
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['figure5a.svg', 'figure5b.svg', 'figure6.svg', 'report.html', 'table1.json', 'table1.md']);
    const table = JSON.parse(await fs.readFile(path.join(dir, 'table1.json'), 'utf8'));
    expect(table.rows[0]).toEqual({ model: 'LR', auc: expect.any(Number), 'prec@10': expect.any(Number), 'prec@50': expect.any(Number), seconds: expect.any(Number) });
    expect(table.dataset.users).toBe(1500);
    const svg = await fs.readFile(path.join(dir, 'figure6.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<polyline');
    const html = await fs.readFile(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<table>');
    expect(html).toContain('Figure 5');
    await fs.rm(dir, { recursive: true, force: true });
  });
});
