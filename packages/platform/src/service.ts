import type { Logger } from 'pino';
import type { EventBus } from './bus/port';
import { commonConfigSchema, loadConfig, type CommonConfig } from './config';
import { startGrpcServer, type RunningGrpcServer } from './grpc/server';
import type { ServiceBinding } from './grpc/handlers';
import { serveMetrics, type MetricsServer, type ServiceMetrics } from './metrics';
import { serverSecurity, type SecurityConfig } from './security';

/** What a service contributes; the platform owns sockets, health and shutdown around it. */
export interface ServiceModule {
  readonly bindings: ServiceBinding[];
  /** Proto files served by reflection, relative to proto/ (e.g. `ralm/v1/trainer.proto`). */
  readonly protoFiles: string[];
  /** Runs after the gRPC port is bound and before health turns SERVING: subscribe, load state. */
  start?(): Promise<void>;
  /** Runs after the gRPC server stopped taking calls: stop subscriptions, flush state. */
  stop?(): Promise<void>;
  /** Extra readiness beyond the bus connection (e.g. a store is open). Defaults to ready. */
  isReady?(): boolean;
}

export interface ServiceHost {
  readonly name: string;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** The plaintext health-only port (GRPC_HEALTH_PORT), if any. */
  readonly healthPort?: number;
  /** gRPC address callers should dial, `host:port`. */
  readonly address: string;
  /** Graceful stop: NOT_SERVING → drain calls (grace) → module.stop → metrics server closed. Idempotent. */
  stop(): Promise<void>;
  /** Resolves true once health says SERVING (checked every 20 ms meanwhile), false if `timeoutMs` passes first. */
  whenServing(timeoutMs: number): Promise<boolean>;
}

export interface HostOptions {
  name: string;
  config: Pick<CommonConfig, 'GRPC_HOST' | 'GRPC_PORT' | 'METRICS_PORT' | 'SHUTDOWN_GRACE_SECONDS'> &
    Partial<Pick<CommonConfig, 'RPC_LIMITS' | 'GRPC_MAX_CONCURRENT_STREAMS' | 'GRPC_HEALTH_PORT'>> &
    Partial<SecurityConfig>;
  logger: Logger;
  metrics: ServiceMetrics;
  bus: EventBus;
  module: ServiceModule;
  /** How often health is re-evaluated, ms. Default 1000. */
  healthIntervalMs?: number;
}

/** Starts one service: metrics endpoint, gRPC server with health and reflection, then the module. */
export async function hostService(options: HostOptions): Promise<ServiceHost> {
  const { config, logger, module } = options;
  // A config that cannot secure the server fails before any port is taken.
  // Built whenever either is set: GRPC_AUTH=required without GRPC_TLS must fail, not run open.
  const security = config.GRPC_TLS !== undefined || config.GRPC_AUTH !== undefined ? serverSecurity({ ...loadConfig(commonConfigSchema, {}), ...config } as SecurityConfig) : undefined;
  const metricsServer: MetricsServer = await serveMetrics(options.metrics.registry, config.GRPC_HOST, config.METRICS_PORT);
  let grpc: RunningGrpcServer;
  try {
    grpc = await startGrpcServer({
      host: config.GRPC_HOST,
      port: config.GRPC_PORT,
      services: module.bindings,
      metrics: options.metrics.rpc,
      logger,
      protoFiles: module.protoFiles,
      limits: config.RPC_LIMITS,
      maxConcurrentStreams: config.GRPC_MAX_CONCURRENT_STREAMS,
      tls: security?.tls,
      authenticator: security?.authenticator,
      healthPort: config.GRPC_HEALTH_PORT,
    });
  } catch (err) {
    await metricsServer.close();
    throw err;
  }
  try {
    await module.start?.();
  } catch (err) {
    // Release the port too: a caller that retries (or a test) must be able to bind it again.
    await grpc.shutdown(0);
    await metricsServer.close();
    throw err;
  }

  let serving: boolean | undefined;
  const evaluate = () => {
    const next = options.bus.isConnected() && (module.isReady?.() ?? true);
    if (next !== serving) {
      serving = next;
      grpc.setServing(next);
      logger.info({ serving: next }, next ? 'health SERVING' : 'health NOT_SERVING');
    }
  };
  evaluate();
  const healthTimer = setInterval(evaluate, options.healthIntervalMs ?? 1000);
  healthTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(healthTimer);
      await grpc.shutdown(config.SHUTDOWN_GRACE_SECONDS * 1000);
      await module.stop?.();
      await metricsServer.close();
      logger.info('stopped');
    })());

  logger.info({ grpcPort: grpc.port, metricsPort: metricsServer.port, bus: options.bus.kind }, 'service started');
  return {
    name: options.name,
    grpcPort: grpc.port,
    metricsPort: metricsServer.port,
    healthPort: grpc.healthPort,
    address: `${config.GRPC_HOST}:${grpc.port}`,
    stop,
    async whenServing(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (stopping) return false;
        evaluate();
        if (serving) return true;
        if (performance.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/**
 * Calls `stop` on the first SIGTERM or SIGINT and exits 130 at once on a second; returns
 * the first signal seen, if any, for a caller that chooses its own exit code.
 */
export function onShutdownSignals(stop: (signal: NodeJS.Signals) => void, logger: Logger): () => NodeJS.Signals | undefined {
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal; exiting now');
      process.exit(130);
    }
    signalled = signal;
    logger.info({ signal }, 'shutting down');
    stop(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => signalled;
}

/** A long-running service's shutdown: `stop` on the first signal, then exit 0 (1 if stopping failed). */
export function exitOnSignals(stop: () => Promise<void>, logger: Logger): void {
  onShutdownSignals(
    () =>
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      ),
    logger,
  );
}
