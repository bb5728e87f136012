/**
 * A mesh run with tracing on (OTEL_* from the environment, e.g. the console exporter)
 * and logs at info, driven with ids that carry a marker; tests/telemetry-ids.test.ts
 * scans what it printed. Tracing starts before anything loads grpc-js, as in a service.
 */
import { startTracing } from '@ralm/platform/tracing';

const tracing = startTracing('ralm-traced-mesh');

async function main(): Promise<void> {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { connectClients, startMesh } = await import('@ralm/mesh');
  const { callUnary } = await import('@ralm/platform');
  // From the environment: argv is exported (the resource's process.command_args).
  const marker = process.env.TRACED_MESH_MARKER ?? 'SECRET';
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-traced-'));
  const mesh = await startMesh({ portBase: 0, host: '127.0.0.1', logLevel: process.env.TRACED_MESH_LOG_LEVEL ?? 'info', baseEnv: {}, env: { STATE_DIR: path.join(root, 'state'), MODEL_ROOT: path.join(root, 'models'), SHUTDOWN_GRACE_SECONDS: '1', SEEDS_UPDATED_INTERVAL_MS: '20' } });
  const clients = connectClients(mesh);
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  try {
    const sc = clients.seedCollector;
    const candidateId = `cand-${marker}-1`;
    await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'c', tags: [] });
    const clicks = Array.from({ length: 5 }, (_, i) => ({ eventId: `evt-${marker}-${i}`, userId: `user-${marker}-${i}`, candidateId, timestampMs: Date.now() }));
    await callUnary(sc.reportClicks.bind(sc), { clicks });
    // Refusals whose status texts name the ids they were about.
    await quiet(callUnary(sc.getSeedStats.bind(sc), { candidateId: `cand-${marker}-404` }));
    await quiet(callUnary(sc.reportClicks.bind(sc), { clicks: [{ eventId: `evt-${marker}-bad`, userId: `user-${marker}-bad`, candidateId: `cand-${marker}-404`, timestampMs: Date.now() }] }));
    const cl = clients.clusterer;
    await quiet(callUnary(cl.getClusters.bind(cl), { candidateId }));
    const sco = clients.lookalikeScorer;
    await quiet(callUnary(sco.score.bind(sco), { userId: `user-${marker}-0`, candidateIds: [candidateId], topK: 1, features: undefined }));
    await new Promise((r) => setTimeout(r, 300));
    await callUnary(sc.retireCandidate.bind(sc), { candidateId, reason: 'done' } as never);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    clients.close();
    await mesh.stop();
    await fs.rm(root, { recursive: true, force: true });
    await tracing.shutdown();
  }
  process.stdout.write(`traced-mesh done (exporting: ${tracing.exporting})\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
