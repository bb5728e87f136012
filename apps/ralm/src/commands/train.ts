import fs from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { DatasetError, readDataset } from '@ralm/data';
import {
  assignVersion,
  loadCheckpoint,
  resolveModelConfig,
  runKey,
  saveCheckpoint,
  saveModel,
  selectBackend,
  train,
  type Progress,
  type TrainingConfigInput,
} from '@ralm/model';
import { InvalidArgumentError } from '@ralm/platform/errors';

export interface TrainCommandOptions {
  data: string;
  out: string;
  settings: TrainingConfigInput;
  backend: 'auto' | 'wasm' | 'cpu';
  /** Where epoch checkpoints go; default `<out>.checkpoint`. */
  checkpointDir?: string;
  /** Ignore an existing checkpoint and start over. */
  fresh: boolean;
  /** Progress bar on a terminal, plain lines otherwise. */
  tty: boolean;
  write: (line: string) => void;
  /** Aborts training (Ctrl-C); the last epoch checkpoint stays for a resume. */
  signal?: AbortSignal;
}

/** proto-style field names in errors → the CLI flag that sets them. */
const FLAG: Record<string, string> = {
  'config.data_dir': '--data',
  'config.user_dim': '--user-dim',
  'config.lookalike_dim': '--lookalike-dim',
  'config.field_dim': '--field-dim',
  'config.attention_size': '--attention-size',
  'config.clusters': '--clusters',
  'config.phase1_epochs': '--epochs1',
  'config.phase2_epochs': '--epochs2',
  'config.batch_size': '--batch-size',
  'config.learning_rate': '--lr',
  'config.negatives_per_positive': '--negatives',
  'config.max_positives_per_user': '--max-positives',
  'config.alpha': '--alpha',
  'config.beta': '--beta',
  'config.temperature': '--temperature',
  'config.seed': '--seed',
  'config.validation_fraction': '--validation-fraction',
};

const PHASE_NAME: Record<Progress['phase'], string> = { user_representation: 'phase 1 (users)', lookalike: 'phase 2 (look-alike)' };
const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** Reports progress as a redrawn bar on a terminal, or one plain line per epoch (and every 15 s) elsewhere. */
function progressReporter(tty: boolean, write: (line: string) => void) {
  let bar: SingleBar | undefined;
  let key = '';
  let lastLine = 0;
  return {
    update(p: Progress) {
      const values = { phase: PHASE_NAME[p.phase], epoch: p.epoch, epochs: p.epochs, loss: fmt(p.loss), auc: fmt(p.validationAuc, 3), sps: Math.round(p.samplesPerSecond) };
      if (tty) {
        const k = `${p.phase}/${p.epoch}`;
        if (k !== key) {
          bar?.stop();
          key = k;
          bar = new SingleBar({
            format: '{phase} epoch {epoch}/{epochs} |{bar}| batch {value}/{total}  loss {loss}  val AUC {auc}  {sps} samples/s',
            hideCursor: true,
            clearOnComplete: false,
          });
          bar.start(p.batches, 0, values);
        }
        bar!.update(p.batch, values);
        return;
      }
      const now = Date.now();
      if (p.batch === p.batches || now - lastLine > 15_000) {
        lastLine = now;
        write(`${values.phase} epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches} loss ${values.loss} val AUC ${values.auc} ${values.sps} samples/s`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** `ralm train`: dataset → both phases → a verified model directory, resuming from a checkpoint when one matches. */
export async function trainCommand(o: TrainCommandOptions): Promise<number> {
  let config;
  try {
    config = resolveModelConfig({ ...o.settings, dataDir: o.data }, () => 1);
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      o.write(`ralm train: ${FLAG[err.field] ?? err.field}: ${err.reason}`);
      return 2;
    }
    throw err;
  }
  const backend = await selectBackend(o.backend === 'auto' ? undefined : o.backend);
  o.write(`tfjs backend: ${backend.name} (${backend.reason})`);

  let dataset;
  try {
    dataset = await readDataset(o.data);
  } catch (err) {
    if (err instanceof DatasetError) {
      o.write(`ralm train: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const positives = dataset.events.label.reduce((a, b) => a + b, 0);
  o.write(`data: ${dataset.users.ids.length} users, ${dataset.items.ids.length} items, ${dataset.events.user.length} events (${positives} clicks), ${dataset.fingerprint}`);

  const checkpointDir = o.checkpointDir ?? `${o.out}.checkpoint`;
  const key = runKey(dataset.fingerprint, config);
  const resumeFrom = o.fresh ? undefined : await loadCheckpoint(checkpointDir, key);
  if (resumeFrom) o.write(`resuming from ${checkpointDir}: ${PHASE_NAME[resumeFrom.phase]}, ${resumeFrom.epochsDone} epochs done`);

  const progress = progressReporter(o.tty, o.write);
  let model;
  try {
    model = await train(dataset, config, {
      resumeFrom,
      signal: o.signal,
      onProgress: (p) => progress.update(p),
      onCheckpoint: (c) => saveCheckpoint(checkpointDir, key, c),
    });
  } catch (err) {
    progress.stop();
    if (o.signal?.aborted) {
      o.write(`interrupted; run the same command again to resume from ${checkpointDir}`);
      return 130;
    }
    throw err;
  }
  progress.stop();
  assignVersion(model);
  const manifest = await saveModel(model, o.out);
  model.dispose();
  await fs.rm(checkpointDir, { recursive: true, force: true });
  const metrics = Object.entries(manifest.metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ');
  o.write(`model ${manifest.version} written to ${o.out} (${metrics}; τ=${manifest.temperature.toFixed(3)})`);
  return 0;
}
