import path from 'node:path';
import type { Logger } from 'pino';
import { createBusFromUrl } from './bus';
import type { EventBus } from './bus/port';
import type { CommonConfig } from './config';
import { ConfigError, StorageCorruptError } from './errors';
import { createLogger } from './logger';
import { createServiceMetrics, type ServiceMetrics } from './metrics';
import { exitOnSignals, hostService, type ServiceHost, type ServiceModule } from './service';
import { openStateStore } from './store';
import type { StateStore } from './store/port';
import type { Tracing } from './tracing';
import { natsAuth, type NatsAuthConfig } from './security/nats-auth';

/** What every service factory receives besides its own config. */
export interface ServiceDeps {
  bus: EventBus;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Unix ms; injected so tests control time. */
  now: () => number;
  /**
   * Opens this service's state store named `name` (LMDB under STATE_DIR, or a
   * JetStream object store with NATS); the caller closes it.
   */
  openStore: (name: string) => Promise<StateStore>;
}

/** The `openStore` of ServiceDeps for a service's common config. */
export function stateStoreOpener(config: Pick<CommonConfig, 'NATS_URL' | 'STATE_DIR' | 'NATS_REPLICAS'> & NatsAuthConfig, logger: Logger): ServiceDeps['openStore'] {
  return (name) =>
    openStateStore({
      natsUrl: config.NATS_URL,
      dir: path.join(config.STATE_DIR, name),
      bucket: `ralm-${name}`,
      name,
      logger,
      nats: { replicas: config.NATS_REPLICAS, auth: natsAuth(config) },
    });
}

/** The bus a service's config names: NATS (with its login, TLS and replicas) or the embedded one journaled under STATE_DIR. */
export function busFromConfig(config: Pick<CommonConfig, 'NATS_URL' | 'STATE_DIR' | 'NATS_REPLICAS'> & NatsAuthConfig, name: string, logger: Logger): Promise<EventBus> {
  return createBusFromUrl(config.NATS_URL, {
    name,
    logger,
    memory: { journalDir: path.join(config.STATE_DIR, 'bus') },
    nats: { stream: { replicas: config.NATS_REPLICAS }, auth: natsAuth(config) },
  });
}

export interface MainOptions<C extends CommonConfig> {
  name: string;
  tracing: Tracing;
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  create: (config: C, deps: ServiceDeps) => ServiceModule | Promise<ServiceModule>;
}

/** Reads the config; a bad one ends the process with 78 (EX_CONFIG), naming the variable. */
export function loadConfigOrExit<C extends CommonConfig>(name: string, loadConfig: (env: NodeJS.ProcessEnv) => C): C {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

export interface StartedService<M extends ServiceModule> {
  bus: EventBus;
  metrics: ServiceMetrics;
  module: M;
  host: ServiceHost;
}

/**
 * bus → metrics → module → host: a service up and serving, as every main.ts starts one, and as
 * the in-process mesh starts each of its five (@ralm/mesh), which passes the bus they share
 * (the embedded one) and its clock. A bus passed in stays the caller's to close.
 */
export async function startService<C extends CommonConfig, M extends ServiceModule>(
  name: string,
  config: C,
  create: (config: C, deps: ServiceDeps) => M | Promise<M>,
  logger: Logger,
  given: { bus?: EventBus; now?: () => number } = {},
): Promise<StartedService<M>> {
  const bus = given.bus ?? (await busFromConfig(config, name, logger));
  const metrics = createServiceMetrics(name);
  const module = await create(config, { bus, logger, metrics, now: given.now ?? Date.now, openStore: stateStoreOpener(config, logger) });
  const host = await hostService({ name, config, logger, metrics, bus, module });
  return { bus, metrics, module, host };
}

/**
 * The body of every service's main.ts: config → logger → startService → signals. A bad
 * config exits 78 (EX_CONFIG) naming the variable.
 */
export function runMain<C extends CommonConfig>(options: MainOptions<C>): void {
  const config = loadConfigOrExit(options.name, options.loadConfig);
  const logger = createLogger(options.name, config.LOG_LEVEL);
  startService(options.name, config, options.create, logger)
    .then(({ bus, host }) =>
      exitOnSignals(async () => {
        await host.stop();
        await bus.close();
        await options.tracing.shutdown();
      }, logger),
    )
    .catch((err: unknown) => {
      logger.fatal({ err }, 'failed to start');
      if (err instanceof StorageCorruptError) {
        process.stderr.write(`${options.name}: ${err.message}\n`);
        process.exit(65); // EX_DATAERR: damaged state, not a crash to restart through
      }
      process.exit(1);
    });
}
