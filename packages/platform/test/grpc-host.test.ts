import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ClustererServiceClient, ClustererServiceService, type GetClustersResponse } from '@ralm/proto/clusterer';
import {
  bindService,
  callUnary,
  checkHealth,
  createLogger,
  createMemoryBus,
  createServiceMetrics,
  DeadlineExceededError,
  hostService,
  NotFoundError,
  type ServiceHost,
} from '@ralm/platform';

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
    const host = await hostService({
      name: 'test-stop',
      config: { GRPC_HOST: '127.0.0.1', GRPC_PORT: 0, METRICS_PORT: 0, SHUTDOWN_GRACE_SECONDS: 1 },
      logger: createLogger('test-stop', 'silent'),
      metrics: createServiceMetrics('test-stop'),
      bus,
      module: t.module,
    });
    const client = new ClustererServiceClient(host.address, credentials.createInsecure());
    const slow = callUnary(client.getClusters.bind(client), { candidateId: 'slow' }).catch((e: ServiceError) => e);
    await t.slowRunning;
    await host.stop();
    const err = (await slow) as ServiceError;
    expect(['CANCELLED', 'UNAVAILABLE']).toContain(status[err.code]);
    await expect(checkHealth(host.address, '', 500)).resolves.toBe('UNREACHABLE');
    client.close();
    await bus.close();
  });
});
