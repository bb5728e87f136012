import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { synthesizeV2 } from '@ralm/data';
import { selectBackend } from '@ralm/model';
import { evaluate, ROW_ORDER } from '../src/run';
import { writeReport } from '../src/report';

// Trains five models: a generous safety net for two busy cores, not a speed check.
jest.setTimeout(300_000);

describe('evaluate + writeReport (quick)', () => {
  it('runs every model under both protocols and writes Table 1, Figures 5 and 6 and the HTML report', async () => {
    await selectBackend();
    const dataset = synthesizeV2({ users: 1500, items: 80, seed: 21 });
    const lines: string[] = [];
    const report = await evaluate(dataset, { quick: true, kSweep: [5, 20], log: (l) => lines.push(l) });
    expect(report.rows.map((r) => r.model)).toEqual([...ROW_ORDER]);
    const inUnit = (x: number) => x > 0 && x < 1;
    for (const r of report.rows) {
      expect({ model: r.model, warm: inUnit(r.warm!.auc) && inUnit(r.warm!.itemAuc) }).toEqual({ model: r.model, warm: true });
      for (const k of ['prec@10', 'prec@50', 'prec@10/K', 'prec@50/K'] as const) expect(r.warm![k]).toBeGreaterThanOrEqual(0);
      // Dividing by K never gives more than dividing by min(K, |read|).
      expect(r.warm!['prec@10/K']).toBeLessThanOrEqual(r.warm!['prec@10'] + 1e-12);
      if (r.model === 'YouTube DNN') {
        // It cannot score an unseen item: the table says so instead of printing a number.
        expect(r.realtime).toBeNull();
        expect(r.unavailable).toMatch(/fresh item/);
        continue;
      }
      expect({ model: r.model, realtime: inUnit(r.realtime!.itemAuc) && inUnit(r.realtime100!.itemAuc) }).toEqual({ model: r.model, realtime: true });
    }
    // A per-item constant cannot change any item's own AUC: popularity sits at exactly 0.5, and the prior leaves RALM's item-AUC as it was.
    const byName = new Map(report.rows.map((r) => [r.model, r]));
    expect(byName.get('Popularity (seed count)')!.realtime!.itemAuc).toBe(0.5);
    // Exactly: score + prior is kept in double, so no near-ties merge.
    expect(byName.get('RALM + seed-count prior')!.realtime!.itemAuc).toBe(byName.get('RALM')!.realtime!.itemAuc);
    // Honest metadata: the split and the sample sizes behind every figure.
    expect(report.dataset).toMatchObject({ users: 1500, items: 80 });
    expect(report.dataset.trainEvents + report.dataset.testEvents).toBe(report.dataset.events);
    expect(report.dataset.testSamples).toBeGreaterThan(0);
    expect(report.dataset.freshItems).toBeGreaterThan(3);
    expect(report.dataset.freshTrainEvents).toBeGreaterThan(0);
    expect(report.figure5.attention.length).toBeGreaterThan(3);
    expect(report.figure5.concatenation.length).toBeGreaterThan(3);
    expect(report.figure6.map((r) => r.k)).toEqual([5, 20]);
    for (const point of report.figure6) expect(inUnit(point.realtimeItemAuc) && inUnit(point.warmAuc)).toBe(true);

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-report-'));
    const files = await writeReport(report, dir);
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['figure5a.svg', 'figure5b.svg', 'figure6.svg', 'report.html', 'table1.json', 'table1.md']);
    const table = JSON.parse(await fs.readFile(path.join(dir, 'table1.json'), 'utf8'));
    expect(table.rows[0]).toMatchObject({ model: 'Popularity (seed count)', kind: 'floor', warm: { auc: expect.any(Number), itemAuc: 0.5 }, realtime: { itemAuc: 0.5 } });
    expect(table.dataset.users).toBe(1500);
    const md = await fs.readFile(path.join(dir, 'table1.md'), 'utf8');
    expect(md).toContain('**Real time**');
    expect(md).toMatch(/\| YouTube DNN \| n\/a \(cannot score a fresh item/);
    const svg = await fs.readFile(path.join(dir, 'figure6.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<polyline');
    const html = await fs.readFile(path.join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<table>');
    expect(html).toContain('Figure 5');
    await fs.rm(dir, { recursive: true, force: true });
  });
});
