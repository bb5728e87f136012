import fs from 'node:fs/promises';
import path from 'node:path';
import { DatasetError, readDataset, type Dataset } from '@ralm/data';
import { AbOptionError, resolveAbOptions, runAbSimulation, sameUsersMarkdown, table2Markdown, writeAbReport, type AbReport, type AbSimOptions } from '@ralm/eval';
import { loadKernel } from '@ralm/kernel';
import { loadServingModel, ModelArtifactError, newestModelDir, selectBackend, type ServingModel } from '@ralm/model';

export interface AbSimCommandOptions extends Partial<AbSimOptions> {
  data?: string;
  /** A model directory, or a MODEL_ROOT whose newest model is used. */
  model?: string;
  out?: string;
  backend: 'auto' | 'wasm' | 'cpu';
  write: (line: string) => void;
  error: (line: string) => void;
}

/** A problem with what the user asked for: exit code 2, the message naming the flag or path. */
class UsageError extends Error {}

const flagOf = (option: string) => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The model in `dir`, or the newest one under it when `dir` is a MODEL_ROOT. */
async function resolveModelDir(dir: string): Promise<string> {
  const isModel = await fs.stat(path.join(dir, 'manifest.json')).then(() => true, () => false);
  if (isModel) return dir;
  const newest = await newestModelDir(dir);
  if (!newest) throw new UsageError(`--model: ${dir} is neither a model directory (no manifest.json) nor a model root holding one`);
  return newest;
}

async function loadModel(dir: string): Promise<{ serving: ServingModel; dir: string }> {
  const resolved = await resolveModelDir(dir);
  try {
    return { serving: await loadServingModel(resolved), dir: resolved };
  } catch (err) {
    if (err instanceof ModelArtifactError) throw new UsageError(`--model: ${err.message}`);
    throw err;
  }
}

async function loadData(dir: string): Promise<Dataset> {
  const isDir = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new UsageError(`--data: ${dir} is not a directory`);
  try {
    return await readDataset(dir);
  } catch (err) {
    if (err instanceof DatasetError) throw new UsageError(`--data ${dir}: ${err.message}`);
    throw err;
  }
}

/**
 * Simulates the A/B test on a dataset directory and a model (directory or root) and
 * returns the report; `ralm ab-sim` and the demo's last step share it.
 * @throws UsageError (via abSimCommand's exit code 2) for bad options, data or model
 */
export async function simulateAb(o: Omit<AbSimCommandOptions, 'out' | 'write' | 'error'> & { log?: (line: string) => void }): Promise<AbReport> {
  let options: AbSimOptions;
  try {
    options = resolveAbOptions(o);
  } catch (err) {
    if (err instanceof AbOptionError) throw new UsageError(`${flagOf(err.option)} ${err.problem}`);
    throw err;
  }
  if (!o.data) throw new UsageError('--data <dir> is required');
  if (!o.model) throw new UsageError('--model <dir> is required');
  await selectBackend(o.backend === 'auto' ? undefined : o.backend);
  const dataset = await loadData(o.data);
  const model = await loadModel(o.model);
  try {
    return runAbSimulation({ dataset, serving: model.serving, kernel: loadKernel(), options, modelDir: model.dir, log: o.log });
  } catch (err) {
    // replayWindow checks --days against the data's span, which only the data can tell.
    if (err instanceof AbOptionError) throw new UsageError(`${flagOf(err.option)} ${err.problem}`);
    throw err;
  } finally {
    model.serving.model.dispose();
  }
}

/** `ralm ab-sim`: writes ab.json and ab.md and prints the Table-2-style summary. */
export async function abSimCommand(o: AbSimCommandOptions): Promise<number> {
  try {
    if (!o.out) throw new UsageError('--out <dir> is required');
    const started = Date.now();
    const report = await simulateAb({ ...o, log: o.write });
    const files = await writeAbReport(report, o.out);
    o.write('');
    o.write(report.statement);
    o.write('');
    o.write(table2Markdown(report));
    o.write(report.giniDirection);
    o.write('');
    o.write("The treatment arm's users replayed again without the extension (same slots and draws): its effect on the same people.");
    o.write(sameUsersMarkdown(report));
    for (const note of report.notes) o.write(`- ${note}`);
    o.write(`wrote ${files.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    o.error(`ralm ab-sim: ${err.message}`);
    return 2;
  }
}
