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
import { serverCredentials, whenTlsLoaded, type TlsSettings } from '../security/tls';
import { uncoveredMethods } from '../security/policy';
import type { Authenticator } from '../security/auth';
import { isLoopback } from '../security/confine';

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
  /** Transport security; plaintext when omitted. */
  tls?: TlsSettings;
  /** Caller checks (GRPC_AUTH=required); none when omitted. */
  authenticator?: Authenticator;
  /** A plaintext port serving grpc.health.v1 only (GRPC_HEALTH_PORT), for probes that cannot speak TLS. */
  healthPort?: number;
}

export interface RunningGrpcServer {
  readonly port: number;
  /** The plaintext health-only port, when one was asked for. */
  readonly healthPort?: number;
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
  if (options.authenticator) {
    // Deny-by-default would make a method nobody listed silently unusable: say so at the start.
    const uncovered = uncoveredMethods(options.services.flatMap(methodNames).filter((n) => n.includes('/')));
    if (uncovered.length > 0) throw new Error(`RPC_POLICY (security/policy.ts) names no roles for ${uncovered.join(', ')}`);
  }
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

  const bind = (target: Server, port: number, creds: ServerCredentials) =>
    new Promise<number>((resolve, reject) => target.bindAsync(`${options.host}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))));
  const stopWatchingTls = options.tls
    ? await whenTlsLoaded(options.tls, (err) => options.logger.warn({ err: err.message }, 'a renewed certificate was refused; the last good one stays in use'))
    : () => {};
  const port = await bind(server, options.port, options.tls ? serverCredentials(options.tls) : ServerCredentials.createInsecure());
  let healthServer: Server | undefined;
  let healthPort: number | undefined;
  if (options.healthPort !== undefined) {
    healthServer = new Server();
    health.addToServer(healthServer);
    try {
      healthPort = await bind(healthServer, options.healthPort, ServerCredentials.createInsecure());
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }
  if (!isLoopback(options.host) && (!options.tls || options.tls.mode === 'off' || !options.authenticator)) {
    // Off is the embedded default on loopback; beyond it, anyone who reaches the port owns the service.
    options.logger.warn({ host: options.host, tls: options.tls?.mode ?? 'off', auth: options.authenticator ? 'required' : 'off' }, 'serving beyond loopback without TLS or caller checks (GRPC_TLS, GRPC_AUTH; docs/SECURITY.md)');
  }
  options.logger.info(
    { port, healthPort, tls: options.tls?.mode ?? 'off', auth: options.authenticator ? 'required' : 'off', services: options.services.map((s) => s.name) },
    'grpc server listening',
  );

  const setServing = (serving: boolean) => {
    for (const name of names) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  };

  let stopping: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (stopping ??= new Promise<void>((resolve) => {
      setServing(false);
      stopWatchingTls();
      const force = setTimeout(() => {
        options.logger.warn({ graceMs }, 'grace period over; cancelling in-flight calls');
        server.forceShutdown();
        healthServer?.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        healthServer?.forceShutdown();
        resolve();
      });
    }));

  return { port, healthPort, setServing, shutdown };
}
