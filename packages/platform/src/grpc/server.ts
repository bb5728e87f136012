import fs from 'node:fs';
import path from 'node:path';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { RpcMetrics } from '../metrics';
import { ConfigError } from '../errors';
import { methodNames, toImplementation } from './bind';
import { useStrictUtf8, withTotalDecoders } from './codec';
import type { MethodLimit } from './admission';
import type { ServiceBinding } from './handlers';

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port; the bound port is on the result. */
  port: number;
  services: ServiceBinding[];
  metrics: RpcMetrics;
  logger: Logger;
  /** Proto files (relative to `protoRoot`) served by reflection. */
  protoFiles: string[];
  /** Root holding `ralm/v1/*.proto`; found by walking up from this file when omitted. */
  protoRoot?: string;
  /** Largest accepted request in bytes. Default 16 MiB (a 10,000-user embedding batch is ~5 MiB). */
  maxReceiveMessageBytes?: number;
  /** Streams one client connection may have open at once (HTTP/2 SETTINGS); more wait on the client. Default 1000. */
  maxConcurrentStreams?: number;
  /** Per-method admission limits overriding the services' defaults (config RPC_LIMITS). */
  limits?: Readonly<Record<string, MethodLimit>>;
}

export interface RunningGrpcServer {
  readonly port: number;
  /**
   * Reports health for the whole server ("") and every bound service. Starts
   * NOT_SERVING: the owner flips it once its dependencies are ready.
   */
  setServing(serving: boolean): void;
  /** Stops accepting calls, lets in-flight ones finish for `graceMs`, then forces the rest closed. */
  shutdown(graceMs: number): Promise<void>;
}

export function findProtoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'proto');
    if (fs.existsSync(path.join(candidate, 'ralm', 'v1'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`proto/ralm/v1 not found above ${from}`);
  }
}

/**
 * Every RPC_LIMITS name must be a method of this server, or, qualified
 * (`Service/Method`), one of another RALM service (one variable can then serve
 * several services, as in `ralm up`). Anything else is a typo: fail the start.
 */
function checkLimitNames(limits: Readonly<Record<string, MethodLimit>>, services: ServiceBinding[], protoRoot: string): void {
  const here = new Set(services.flatMap(methodNames));
  const ownServices = new Set(services.map((s) => s.name.split('.').pop()!));
  let contract: Set<string> | undefined;
  const unknown = Object.keys(limits).filter((name) => {
    if (here.has(name)) return false;
    const [service, method] = name.split('/');
    if (method === undefined || ownServices.has(service!)) return true;
    contract ??= contractServices(protoRoot);
    return !contract.has(service!);
  });
  if (unknown.length > 0) {
    throw new ConfigError('RPC_LIMITS', `${unknown.join(', ')}: no such method here (methods: ${[...here].filter((n) => !n.includes('/')).join(', ')})`);
  }
}

/** Names of the services the contract declares (`service X {` in proto/ralm/v1). */
function contractServices(protoRoot: string): Set<string> {
  const dir = path.join(protoRoot, 'ralm', 'v1');
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/^service\s+(\w+)/gm)].map((m) => m[1]!));
  return new Set(names);
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  useStrictUtf8();
  const protoRoot = options.protoRoot ?? findProtoRoot();
  checkLimitNames(options.limits ?? {}, options.services, protoRoot);
  const server = new Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? 16 * 1024 * 1024,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams ?? 1000,
  });
  for (const binding of options.services) {
    server.addService(withTotalDecoders(binding.definition as ServiceDefinition), toImplementation(binding, options));
  }

  const names = ['', ...options.services.map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'NOT_SERVING' as ServingStatus])));
  health.addToServer(server);

  const packageDefinition = loadSync(options.protoFiles, { includeDirs: [protoRoot], keepCase: true });
  new ReflectionService(packageDefinition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  options.logger.info({ port, services: options.services.map((s) => s.name) }, 'grpc server listening');

  const setServing = (serving: boolean) => {
    for (const name of names) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  };

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (stopping ??= new Promise<void>((resolve) => {
      setServing(false);
      const force = setTimeout(() => {
        options.logger.warn({ graceMs }, 'grace period over; cancelling in-flight calls');
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }));

  return { port, setServing, shutdown };
}
