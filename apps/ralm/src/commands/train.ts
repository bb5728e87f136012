import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { DatasetError } from '@ralm/data';
import { resolveModelConfig, selectBackend, type Manifest, type Progress, type TrainingConfigInput } from '@ralm/model';
import { createLogger, createMemoryBus } from '@ralm/platform';
import { JobState, jobStateToJSON } from '@ralm/proto/trainer';
import { finalState, JobRunner, MemoryJobStore, modelPackageTraining } from '@ralm/trainer';
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

/**
 * `ralm train`: dataset → both phases → a verified model directory, resuming from a
 * checkpoint when one matches. It runs the Trainer's own JobRunner in the foreground (the
 * same job a StartTraining or a batch Job runs), told to write the model to `--out`, keep its
 * checkpoints in `--checkpoint-dir` and announce nothing; this command only reports.
 */
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

  const checkpointDir = o.checkpointDir ?? `${o.out}.checkpoint`;
  const jobs = new MemoryJobStore();
  const bus = createMemoryBus();
  const runner = new JobRunner({
    jobs,
    bus,
    logger: createLogger('ralm-train', 'silent'),
    now: Date.now,
    training: modelPackageTraining,
    // The runner's defaults for a job that names no directories; this one names both below.
    modelRoot: path.dirname(path.resolve(o.out)),
    workRoot: path.dirname(path.resolve(checkpointDir)),
    progressIntervalMs: 1000,
  });
  const progress = progressReporter(o.tty, o.write);
  let manifest: Manifest | undefined;
  let failure: unknown;
  const submitted = runner.submit(config, {
    publish: false,
    modelDir: o.out,
    workDir: checkpointDir,
    fresh: o.fresh,
    signal: o.signal,
    observer: {
      onDataset: (dataset) => {
        const positives = dataset.events.label.reduce((a, b) => a + b, 0);
        o.write(`data: ${dataset.users.ids.length} users, ${dataset.items.ids.length} items, ${dataset.events.user.length} events (${positives} clicks), ${dataset.fingerprint}`);
      },
      onResume: (c, dir) => o.write(`resuming from ${dir}: ${PHASE_NAME[c.phase]}, ${c.epochsDone} epochs done`),
      onProgress: (p) => progress.update(p),
      onModel: (m) => (manifest = m),
      onError: (err) => (failure = err),
    },
  });
  const job = await finalState(jobs, submitted.jobId);
  progress.stop();
  await bus.close();
  if (job.state === JobState.JOB_STATE_SUCCEEDED && manifest) {
    const metrics = Object.entries(manifest.metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ');
    o.write(`model ${manifest.version} written to ${o.out} (${metrics}; τ=${manifest.temperature.toFixed(3)})`);
    return 0;
  }
  if (job.state === JobState.JOB_STATE_CANCELLED && o.signal?.aborted) {
    o.write(`interrupted; run the same command again to resume from ${checkpointDir}`);
    return 130;
  }
  if (failure instanceof DatasetError) {
    o.write(`ralm train: ${failure.message}`);
    return 2;
  }
  throw failure ?? new Error(`training ended ${jobStateToJSON(job.state)}: ${job.error}`);
}
