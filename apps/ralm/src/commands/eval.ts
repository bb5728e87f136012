import { DatasetError, readDataset } from '@ralm/data';
import { COMPETITORS, evaluate, table1Markdown, writeReport, type CompetitorName } from '@ralm/eval';
import { selectBackend } from '@ralm/model';

export interface EvalCommandOptions {
  data: string;
  out: string;
  only?: string;
  quick: boolean;
  budgetMinutes?: number;
  seed: number;
  backend: 'auto' | 'wasm' | 'cpu';
  freshDays?: number;
  freshMinSeeds?: number;
  priorWeight?: number;
  write: (line: string) => void;
}

/** `ralm eval`: every competitor of the paper on one dataset, written as Table 1, Figures 5 and 6 and an HTML report. */
export async function evalCommand(o: EvalCommandOptions): Promise<number> {
  let only: CompetitorName[] | undefined;
  if (o.only) {
    only = o.only.split(',').map((s) => s.trim()) as CompetitorName[];
    const unknown = only.filter((n) => !COMPETITORS.includes(n));
    if (unknown.length) {
      o.write(`ralm eval: --only: unknown competitor(s) ${unknown.join(', ')}; choose from ${COMPETITORS.join(', ')}`);
      return 2;
    }
  }
  for (const [flag, v, integer] of [['--fresh-days', o.freshDays, false], ['--fresh-min-seeds', o.freshMinSeeds, true], ['--prior-weight', o.priorWeight, false]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && (!integer || Number.isInteger(v)))) {
      o.write(`ralm eval: ${flag} must be a non-negative ${integer ? 'integer' : 'number'}, got ${v}`);
      return 2;
    }
  }
  const fresh = { ...(o.freshDays !== undefined ? { days: o.freshDays } : {}), ...(o.freshMinSeeds !== undefined ? { minSeeds: o.freshMinSeeds } : {}) };
  const backend = await selectBackend(o.backend === 'auto' ? undefined : o.backend);
  o.write(`tfjs backend: ${backend.name}`);
  let dataset;
  try {
    dataset = await readDataset(o.data);
  } catch (err) {
    if (err instanceof DatasetError) {
      o.write(`ralm eval: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const started = Date.now();
  const report = await evaluate(dataset, { only, quick: o.quick, budgetMinutes: o.budgetMinutes, seed: o.seed, fresh, priorWeight: o.priorWeight, log: o.write });
  const files = await writeReport(report, o.out);
  o.write('');
  o.write(table1Markdown(report));
  o.write(`wrote ${files.join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}
