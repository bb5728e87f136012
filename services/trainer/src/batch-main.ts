import os from 'node:os';
import { createLogger, loadConfigOrExit, onShutdownSignals, runMain, startService, type MainOptions, type ServiceDeps } from '@ralm/platform';
import { BatchExit, batchJobOf, runBatchJob, type BatchJob } from './batch';
import type { TrainerConfig } from './config';
import type { TrainerModule } from './module';

export interface TrainerMainOptions extends Omit<MainOptions<TrainerConfig>, 'create'> {
  create: (config: TrainerConfig, deps: ServiceDeps) => TrainerModule | Promise<TrainerModule>;
}

/**
 * The trainer's process: runMain in service mode. In batch mode (TRAINING_JOB_DATA_DIR
 * set) the same host (gRPC with health, metrics, the bus) runs around one job, then
 * stops gracefully and exits with a BatchExit code.
 */
export function runTrainerMain(options: TrainerMainOptions): void {
  // Exits BatchExit.config (78, EX_CONFIG) on a bad variable, as every service does.
  const config = loadConfigOrExit(options.name, options.loadConfig);
  const batch = batchJobOf(config);
  if (batch === undefined) runMain({ ...options, loadConfig: () => config });
  else runBatchMain(config, batch, options);
}

/**
 * runMain's sequence with an end: runMain exits only on a signal, and with 0, which a
 * Kubernetes Job would count as a completion even when its pod was evicted mid-run.
 */
function runBatchMain(config: TrainerConfig, batch: BatchJob, options: TrainerMainOptions): void {
  const logger = createLogger(options.name, config.LOG_LEVEL);
  (async () => {
    const { bus, module, host } = await startService(options.name, config, options.create, logger);
    const stopping = new AbortController();
    const signalled = onShutdownSignals(() => {
      stopping.abort();
      // Cancels the job now (it keeps its checkpoints); the host stops below, once the job has ended.
      module.stop?.().catch((err: unknown) => logger.error({ err }, 'stopping the job failed'));
    }, logger);
    const outcome = await runBatchJob(batch, { ...module.deps, logger, signal: stopping.signal });
    await host.stop();
    await bus.close();
    await options.tracing.shutdown();
    const signal = signalled();
    process.exit(signal === undefined ? outcome.exitCode : 128 + os.constants.signals[signal]);
  })().catch((err: unknown) => {
    logger.fatal({ err, exitCode: BatchExit.failed }, 'batch job could not run');
    process.exit(BatchExit.failed);
  });
}

