import { createServer } from 'node:net';
import path from 'node:path';
import { credentials, loadPackageDefinition, makeGenericClientConstructor, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { ClustererServiceClient, ClustererServiceService, GetClustersResponse } from '@ralm/proto/clusterer';
import { SeedCollectorServiceClient, SeedCollectorServiceService } from '@ralm/proto/seed_collector';
import {
  bindService,
  callUnary,
  CancelledError,
  checkHealth,
  createLogger,
  createMemoryBus,
  createServiceMetrics,
  DeadlineExceededError,
  hostService,
  NotFoundError,
  UnimplementedError,
  type ServiceHost,
  type ServiceModule,
} from '@ralm/platform';

const hostConfig = (GRPC_PORT = 0) => ({ GRPC_HOST: '127.0.0.1', GRPC_PORT, METRICS_PORT: 0, SHUTDOWN_GRACE_SECONDS: 1 });

function startHost(name: string, module: ServiceModule, bus = createMemoryBus()): Promise<ServiceHost> {
  return hostService({ name, config: hostConfig(), logger: createLogger(name, 'silent'), metrics: createServiceMetrics(name), bus, module, healthIntervalMs: 10 });
}

/** A port the OS just handed out on loopback, free again when this resolves. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A Clusterer contract with test handlers: one waits on its abort signal, one fails unexpectedly. */
function testModule() {
  const seen: { reason?: unknown } = {};
  let ready = false;
  let slowStarted!: () => void;
  const slowRunning = new Promise<void>((resolve) => (slowStarted = resolve));
  const binding = bindService('ralm.v1.ClustererService', ClustererServiceService, {
    getClusters: (req, ctx) =>
      new Promise<GetClustersResponse>((_resolve, reject) => {
        if (req.candidateId === 'missing') return reject(new NotFoundError('candidate', 'missing'));
        if (req.candidateId === 'slow') slowStarted();
        ctx.signal.addEventListener('abort', () => {
          seen.reason = ctx.signal.reason;
          reject(ctx.signal.reason);
        });
      }),
    recluster: async () => {
      throw new Error('secret internal detail');
    },
    listClusters: async () => undefined,
  });
  return {
    seen,
    setReady: (v: boolean) => (ready = v),
    slowRunning,
    module: { bindings: [binding], protoFiles: ['ralm/v1/clusterer.proto'], isReady: () => ready },
  };
}

describe('hostService', () => {
  const bus = createMemoryBus();
  const metrics = createServiceMetrics('test-host');
  const t = testModule();
  let host: ServiceHost;
  let client: ClustererServiceClient;

  beforeAll(async () => {
    host = await hostService({
      name: 'test-host',
      config: { GRPC_HOST: '127.0.0.1', GRPC_PORT: 0, METRICS_PORT: 0, SHUTDOWN_GRACE_SECONDS: 1 },
      logger: createLogger('test-host', 'silent'),
      metrics,
      bus,
      module: t.module,
      healthIntervalMs: 10,
    });
    client = new ClustererServiceClient(host.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await host.stop();
    await bus.close();
  });

  it('reports NOT_SERVING until the module is ready, then SERVING', async () => {
    await expect(checkHealth(host.address)).resolves.toBe('NOT_SERVING');
    await expect(checkHealth(host.address, 'ralm.v1.ClustererService')).resolves.toBe('NOT_SERVING');
    t.setReady(true);
    for (let i = 0; i < 200 && (await checkHealth(host.address)) !== 'SERVING'; i++) await new Promise((r) => setTimeout(r, 10));
    await expect(checkHealth(host.address)).resolves.toBe('SERVING');
    await expect(checkHealth(host.address, 'ralm.v1.ClustererService')).resolves.toBe('SERVING');
  });

  it("honours the caller's deadline: DEADLINE_EXCEEDED, and the handler's signal aborts", async () => {
    const err = (await callUnary(client.getClusters.bind(client), { candidateId: 'wait' }, { timeoutMs: 100 }).catch((e) => e)) as ServiceError;
    expect(status[err.code]).toBe('DEADLINE_EXCEEDED');
    for (let i = 0; i < 100 && !t.seen.reason; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.seen.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it('maps typed errors through the table and hides unexpected ones behind INTERNAL', async () => {
    await expect(callUnary(client.getClusters.bind(client), { candidateId: 'missing' })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: "candidate 'missing' not found",
    });
    const err = (await callUnary(client.recluster.bind(client), { candidateId: 'x', force: false }).catch((e) => e)) as ServiceError;
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe('internal error');
  });

  it('counts every call by method and status code', async () => {
    const errors = await metrics.rpc.errors.get();
    const byKey = Object.fromEntries(errors.values.map((v) => [`${v.labels.method} ${v.labels.code}`, v.value]));
    expect(byKey).toMatchObject({
      'ClustererService/GetClusters DEADLINE_EXCEEDED': 1,
      'ClustererService/GetClusters NOT_FOUND': 1,
      'ClustererService/Recluster INTERNAL': 1,
    });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/ralm_test_host_rpc_duration_seconds_count\{[^}]*method="ClustererService\/GetClusters",code="NOT_FOUND"[^}]*\} 1\n/);
  });

  it('answers server reflection with the bound services', async () => {
    const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const def = loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflectionProto], keepCase: true });
    const pkg = loadPackageDefinition(def) as any;
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(host.address, credentials.createInsecure());
    const call = reflection.ServerReflectionInfo(new Metadata());
    const reply = await new Promise<any>((resolve, reject) => {
      call.on('data', resolve);
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    call.end();
    reflection.close();
    const names = reply.list_services_response.service.map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(['ralm.v1.ClustererService']));
  });
});

describe('hostService shutdown', () => {
  it('turns NOT_SERVING, then cancels calls still running after the grace period', async () => {
    const bus = createMemoryBus();
    const t = testModule();
    t.setReady(true);
    const host = await startHost('test-stop', t.module, bus);
    const client = new ClustererServiceClient(host.address, credentials.createInsecure());
    // A grpc.health.v1 Watch opened before the stop sees every status change the server makes.
    const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');
    const health = new HealthClient(host.address, credentials.createInsecure()) as unknown as {
      Watch(request: { service: string }): ClientReadableStream<{ status: string }>;
      close(): void;
    };
    const watched: string[] = [];
    const watch = health.Watch({ service: '' });
    watch.on('data', (reply) => watched.push(reply.status));
    const watchEnded = new Promise<void>((resolve) => watch.on('error', () => resolve()).on('end', () => resolve()));
    await until('SERVING on the watch', () => watched.includes('SERVING'));

    const slow = callUnary(client.getClusters.bind(client), { candidateId: 'slow' }).catch((e: ServiceError) => e);
    await t.slowRunning;
    await host.stop();
    await watchEnded;
    expect(watched).toEqual(['SERVING', 'NOT_SERVING']);
    const err = (await slow) as ServiceError;
    expect(['CANCELLED', 'UNAVAILABLE']).toContain(status[err.code]);
    await expect(checkHealth(host.address, '', 500)).resolves.toBe('UNREACHABLE');
    health.close();
    client.close();
    await bus.close();
  });

  it('closes the gRPC port as well when module.start() fails', async () => {
    const port = await freePort();
    const bus = createMemoryBus();
    const module: ServiceModule = {
      ...testModule().module,
      start: async () => {
        throw new Error('cannot subscribe');
      },
    };
    const starting = hostService({
      name: 'test-fail',
      config: hostConfig(port),
      logger: createLogger('test-fail', 'silent'),
      metrics: createServiceMetrics('test-fail'),
      bus,
      module,
    });
    await expect(starting).rejects.toThrow('cannot subscribe');
    await expect(checkHealth(`127.0.0.1:${port}`, '', 500)).resolves.toBe('UNREACHABLE');
    await bus.close();
  });
});

describe('server-streaming handlers', () => {
  it("settle a send that waits on flow control when the client cancels, with the call's abort reason", async () => {
    let sent = 0;
    let settle!: (reason: unknown) => void;
    const handlerOutcome = new Promise<unknown>((resolve) => (settle = resolve));
    const unimplemented = async (): Promise<never> => {
      throw new UnimplementedError('not used in this test');
    };
    // ~200 KB per message, far more than the transport takes at once: each send mostly waits for 'drain'.
    const chunk = { userIds: Array.from({ length: 1000 }, (_, i) => `user-${i}-`.padEnd(200, 'x')), seedVersion: 1, total: 0 };
    const binding = bindService('ralm.v1.SeedCollectorService', SeedCollectorServiceService, {
      reportClicks: unimplemented,
      streamClicks: unimplemented,
      getSeedStats: unimplemented,
      registerCandidate: unimplemented,
      retireCandidate: unimplemented,
      listSeeds: async (_request, _ctx, send) => {
        try {
          for (;;) {
            await send(chunk);
            sent++;
          }
        } catch (err) {
          settle(err);
          throw err;
        }
      },
    });
    const bus = createMemoryBus();
    const host = await startHost('test-stream', { bindings: [binding], protoFiles: ['ralm/v1/seed_collector.proto'] }, bus);
    const client = new SeedCollectorServiceClient(host.address, credentials.createInsecure());
    try {
      const call = client.listSeeds({ candidateId: 'c', limit: 0 });
      call.on('error', () => undefined); // CANCELLED, expected
      // The client reads nothing; once sends are flowing, the handler is almost always parked in send().
      await until('a few sends', () => sent >= 20);
      call.cancel();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([handlerOutcome, new Promise((resolve) => (timer = setTimeout(resolve, 5000, 'still waiting')))]);
      clearTimeout(timer);
      expect(outcome).toBeInstanceOf(CancelledError);
    } finally {
      client.close();
      await host.stop();
      await bus.close();
    }
  });
});

describe('admission control over gRPC', () => {
  it('queues within the limit, refuses beyond it with RESOURCE_EXHAUSTED and a retry hint, and never starts a call whose caller left while it waited', async () => {
    const bus = createMemoryBus();
    const metrics = createServiceMetrics('test-admit');
    const started: string[] = [];
    let releaseHeld!: () => void;
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    const binding = bindService('ralm.v1.ClustererService', ClustererServiceService, {
      getClusters: async (req) => {
        started.push(req.candidateId);
        if (req.candidateId === 'hold') await held;
        return GetClustersResponse.fromPartial({ candidateId: req.candidateId });
      },
      recluster: async () => ({}) as never,
      listClusters: async () => undefined,
    });
    const host = await hostService({
      name: 'test-admit',
      config: { ...hostConfig(), RPC_LIMITS: { GetClusters: { concurrency: 1, queue: 2 } } },
      logger: createLogger('test-admit', 'silent'),
      metrics,
      bus,
      module: { bindings: [binding], protoFiles: ['ralm/v1/clusterer.proto'] },
    });
    const client = new ClustererServiceClient(host.address, credentials.createInsecure());
    const call = (id: string, timeoutMs?: number) => callUnary(client.getClusters.bind(client), { candidateId: id }, timeoutMs ? { timeoutMs } : {});
    try {
      const first = call('hold');
      await until('the first call running', () => started.length === 1);
      const leaves = call('leaves', 150).catch((e: ServiceError) => e); // waits, and its deadline passes first
      const waits = call('waits');
      for (let i = 0; i < 500 && (await metrics.rpc.queued.get()).values.find((v) => v.labels.method === 'ClustererService/GetClusters')?.value !== 2; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const refused = (await call('refused').catch((e: ServiceError) => e)) as ServiceError;
      expect(status[refused.code]).toBe('RESOURCE_EXHAUSTED');
      expect(refused.details).toMatch(/ClustererService\/GetClusters is overloaded \(1 running, 2 waiting\); retry after \d+ ms/);
      expect(Number(refused.metadata.get('grpc-retry-pushback-ms')[0])).toBeGreaterThan(0);
      expect(status[((await leaves) as ServiceError).code]).toBe('DEADLINE_EXCEEDED');
      // The server's clock for that deadline runs from the call's arrival, a little after the
      // client's: the client's deadline fires first and cancels the stream (RST_STREAM CANCEL),
      // which the server cannot tell from a caller hanging up. Either way the call left while waiting.
      const leftQueue = async () => (await metrics.rpc.shed.get()).values.some((v) => /^(expired|cancelled)_in_queue$/.test(v.labels.reason as string) && v.value === 1);
      for (let i = 0; i < 200 && !(await leftQueue()); i++) await new Promise((r) => setTimeout(r, 5));
      releaseHeld();
      await expect(first).resolves.toMatchObject({ candidateId: 'hold' });
      await expect(waits).resolves.toMatchObject({ candidateId: 'waits' });
      expect(started).toEqual(['hold', 'waits']); // 'leaves' and 'refused' never ran
      const shed = Object.fromEntries((await metrics.rpc.shed.get()).values.map((v) => [v.labels.reason, v.value]));
      const { queue_full, ...left } = shed;
      expect(queue_full).toBe(1);
      expect((Object.values(left) as number[]).reduce((a, b) => a + b, 0)).toBe(1);
      expect(Object.keys(left)[0]).toMatch(/^(expired|cancelled)_in_queue$/);
    } finally {
      client.close();
      await host.stop();
      await bus.close();
    }
  });

  it('fails the start on an RPC_LIMITS name that is no method of the service', async () => {
    const bus = createMemoryBus();
    await expect(
      hostService({
        name: 'test-typo',
        config: { ...hostConfig(), RPC_LIMITS: { GetCluster: { concurrency: 1, queue: 1 } } },
        logger: createLogger('test-typo', 'silent'),
        metrics: createServiceMetrics('test-typo'),
        bus,
        module: testModule().module,
      }),
    ).rejects.toThrow(/config RPC_LIMITS: GetCluster: no such method here \(methods: GetClusters, Recluster, ListClusters\)/);
    for (const [limits, fails] of [
      ['ClustererService/GetCluster', true],
      ['ClusterService/GetClusters', true],
      ['LookalikeScorerService/Score', false], // another service's: one variable may serve the whole mesh
    ] as const) {
      const host = hostService({
        name: 'test-typo',
        config: { ...hostConfig(), RPC_LIMITS: { [limits]: { concurrency: 1, queue: 1 } } },
        logger: createLogger('test-typo', 'silent'),
        metrics: createServiceMetrics('test-typo'),
        bus,
        module: testModule().module,
      });
      if (fails) await expect(host).rejects.toThrow(`config RPC_LIMITS: ${limits}: no such method here`);
      else await (await host).stop();
    }
    await bus.close();
  });
});
