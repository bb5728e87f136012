import {
  busFromConfig,
  createLogger,
  startService,
  type CommonConfig,
  type EventBus,
  type ServiceDeps,
  type ServiceHost,
  type ServiceModule,
} from '@ralm/platform';
import { createClusterer, loadClustererConfig } from '@ralm/clusterer';
import { createLookalikeScorer, loadLookalikeScorerConfig } from '@ralm/lookalike-scorer';
import { createSeedCollector, loadSeedCollectorConfig } from '@ralm/seed-collector';
import { createTrainer, loadTrainerConfig } from '@ralm/trainer';
import { createUserEmbedding, loadUserEmbeddingConfig } from '@ralm/user-embedding';

/** One entry per service, in start order (dependencies first). */
interface ServiceSpec<C extends CommonConfig, M extends ServiceModule> {
  name: string;
  load: (env: NodeJS.ProcessEnv) => C;
  create: (config: C, deps: ServiceDeps) => M | Promise<M>;
}

function spec<C extends CommonConfig, M extends ServiceModule>(s: ServiceSpec<C, M>): ServiceSpec<CommonConfig, ServiceModule> {
  return s as unknown as ServiceSpec<CommonConfig, ServiceModule>;
}

export const SERVICES = [
  spec({ name: 'user-embedding', load: loadUserEmbeddingConfig, create: createUserEmbedding }),
  spec({ name: 'seed-collector', load: loadSeedCollectorConfig, create: createSeedCollector }),
  spec({ name: 'clusterer', load: loadClustererConfig, create: createClusterer }),
  spec({ name: 'lookalike-scorer', load: loadLookalikeScorerConfig, create: createLookalikeScorer }),
  spec({ name: 'trainer', load: loadTrainerConfig, create: createTrainer }),
] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];

export interface MeshOptions {
  /** NATS URL(s); undefined = one in-memory bus shared by the five services. */
  natsUrl?: string;
  /** gRPC ports are base, base+1, …; metrics ports base+100, …. 0 = free ports. */
  portBase: number;
  host: string;
  logLevel: string;
  /** Extra environment for every service (e.g. SEEDS_UPDATED_INTERVAL_MS in tests); wins over `baseEnv`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Base environment every service's config is read from. Required, so nothing
   * reads `process.env` implicitly: the CLI passes it, tests pass `{}`.
   */
  baseEnv: NodeJS.ProcessEnv;
  /** How long each service may take to be SERVING before the next starts anyway. Default 10 s. */
  readyTimeoutMs?: number;
  /**
   * Environment of single services, over `env` (e.g. each its own NATS user). With NATS,
   * a service named here connects its own bus from its own config, as a pod does.
   */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  /** Per-service unix-ms clock; Date.now by default. */
  now?: () => number;
}

export interface RunningService {
  readonly name: string;
  readonly host: ServiceHost;
  readonly module: ServiceModule;
}

export interface Mesh {
  readonly bus: EventBus;
  readonly services: RunningService[];
  service(name: ServiceName): RunningService;
  /** Stops services in reverse start order, then closes the bus. Idempotent. */
  stop(): Promise<void>;
  /** Stops one service and starts it again on the same ports, with the same bus and state (a pod restart). */
  restart(name: ServiceName): Promise<RunningService>;
}

/**
 * Starts the five services in this process on loopback. With the in-memory bus
 * they must share a process; with NATS they could equally run apart (each
 * service's own main.ts).
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const environment = (i: number, addresses: NodeJS.ProcessEnv, own = true): NodeJS.ProcessEnv => {
    const port = (offset: number) => String(options.portBase === 0 ? 0 : options.portBase + offset + i);
    return {
      ...options.baseEnv,
      GRPC_HOST: options.host,
      GRPC_PORT: port(0),
      METRICS_PORT: port(100),
      NATS_URL: options.natsUrl,
      LOG_LEVEL: options.logLevel,
      ...addresses,
      ...options.env,
      ...(own && options.serviceEnv?.[SERVICES[i]!.name as ServiceName]),
    };
  };
  // Every config first: a bad variable (NATS_URL among them) is reported by name before anything connects.
  SERVICES.forEach((s, i) => s.load(environment(i, {})));
  // The mesh's own bus (tests and the CLI use it) logs in with the shared env, never as one of the services.
  const common = SERVICES[0]!.load(environment(0, {}, false));
  // Each service learns the addresses of those started before it (e.g. SEED_COLLECTOR_ADDR), as DNS names would give them in a cluster.
  const addresses: NodeJS.ProcessEnv = {};
  // The embedded bus journals under STATE_DIR, so what it acknowledged survives a restart of the mesh.
  const bus = await busFromConfig(common, 'ralm-mesh', createLogger('bus', options.logLevel));
  const running: RunningService[] = [];
  const ownBuses = new Map<number, EventBus>();
  const stopAll = async () => {
    for (const s of [...running].reverse()) await s.host.stop();
    for (const own of ownBuses.values()) await own.close();
    await bus.close();
  };
  const launch = async (i: number, ports: NodeJS.ProcessEnv = {}): Promise<RunningService> => {
    const s = SERVICES[i]!;
    const config = s.load(environment(i, { ...addresses, ...ports }));
    const logger = createLogger(s.name, config.LOG_LEVEL);
    let serviceBus = bus;
    if (options.natsUrl && options.serviceEnv?.[s.name as ServiceName]) {
      // A restart keeps the connection, as the shared bus is kept.
      if (!ownBuses.has(i)) ownBuses.set(i, await busFromConfig(config, s.name, logger));
      serviceBus = ownBuses.get(i)!;
    }
    // The platform's start-up, as each service's main.ts runs it, on the bus this mesh owns.
    const { module, host } = await startService(s.name, config, s.create, logger, { bus: serviceBus, now: options.now });
    // Dependencies first, and ready first: a scorer started before the clusterer caught up would only wait on it.
    if (!(await host.whenServing(options.readyTimeoutMs ?? 10_000))) logger.warn({ service: s.name }, 'not SERVING yet; starting the next service anyway (health says why it waits)');
    return { name: s.name, host, module };
  };
  try {
    for (const [i, s] of SERVICES.entries()) {
      running.push(await launch(i));
      addresses[`${s.name.toUpperCase().replace(/-/g, '_')}_ADDR`] = running[i]!.host.address;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    bus,
    services: running,
    service(name) {
      const found = running.find((r) => r.name === name);
      if (!found) throw new Error(`no service ${name}`);
      return found;
    },
    stop: () => (stopping ??= stopAll()),
    async restart(name) {
      const i = running.findIndex((r) => r.name === name);
      if (i < 0) throw new Error(`no service ${name}`);
      const { host } = running[i]!;
      await host.stop();
      // On its own ports again, as a restarted pod behind the same address.
      running[i] = await launch(i, { GRPC_PORT: String(host.grpcPort), METRICS_PORT: String(host.metricsPort) });
      return running[i]!;
    },
  };
}
