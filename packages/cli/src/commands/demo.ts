import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { callUnary, statusName, Subjects } from '@ralm/platform';
import { connectClients } from '../clients';
import { startMesh } from '../mesh';
import { describeMesh } from '../mesh-file';
import { waitFor } from '../wait';
import { formatHealth, probeMesh } from './status';

export interface DemoOptions {
  natsUrl?: string;
  host: string;
  logLevel: string;
  /** Environment the services' configs are read from (the CLI passes its own). */
  baseEnv: NodeJS.ProcessEnv;
}

const say = (line = '') => process.stdout.write(`${line}\n`);

/** The answer of a call that is expected to fail, as `CODE: details`. */
async function statusOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    const e = err as ServiceError;
    return `${statusName(e.code)}: ${e.details}`;
  }
}

/**
 * The end-to-end tour on embedded defaults: the mesh comes up, every service
 * reports healthy, a candidate collects seeds over gRPC and the bus, each
 * service answers one call, metrics are scraped, and everything stops.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const started = Date.now();
  // A fresh state directory: the tour starts from nothing every time it runs.
  const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-demo-state-'));
  const mesh = await startMesh({ ...options, portBase: 0, env: { SEEDS_UPDATED_INTERVAL_MS: '100', STATE_DIR: stateDir } });
  const clients = connectClients(mesh);
  try {
    say(`1. Mesh up on the ${mesh.bus.kind} bus:`);
    const health = await probeMesh(describeMesh(mesh, options.host));
    say(formatHealth(health));
    if (!health.every((h) => h.status === 'SERVING')) throw new Error('a service is not SERVING');

    const sc = clients.seedCollector;
    // Unique per run: against a real NATS stream, ids from an earlier run are still in its duplicate window.
    const run = Date.now().toString(36);
    const candidateId = `demo-article-${run}`;
    const reg = await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'technology', tags: ['ai', 'recsys'] });
    say(`\n2. Registered candidate '${candidateId}' (created=${reg.created}, category=${reg.candidate?.category}).`);

    const now = Date.now();
    const clicks = Array.from({ length: 150 }, (_, i) => ({
      eventId: `${run}-grpc-${i}`,
      userId: `user-${i % 120}`,
      candidateId,
      timestampMs: now - 1000 + i,
    }));
    clicks.push({ ...clicks[0]! }); // a resend: idempotent by event id
    clicks.push({ eventId: `${run}-bad`, userId: '', candidateId, timestampMs: now }); // rejected, with its field
    const report = await callUnary(sc.reportClicks.bind(sc), { clicks });
    say(`3. ReportClicks over gRPC: accepted=${report.accepted} duplicates=${report.duplicates} rejected=${report.rejections.length}` +
      (report.rejections[0] ? ` (${report.rejections[0].field}: ${report.rejections[0].reason})` : ''));

    for (let i = 0; i < 30; i++) {
      await mesh.bus.publish(
        Subjects.clickRecorded,
        { eventId: `${run}-bus-${i}`, userId: `user-${100 + i}`, candidateId, timestampMs: now + i },
        { msgId: `${run}-bus-${i}` },
      );
    }
    say('4. Published 30 clicks straight on ralm.v1.click.recorded (as an upstream producer would).');

    // Users 0..119 from gRPC plus 120..129 new from the bus.
    const expectedSeeds = 130;
    const stats = await waitFor(
      () => callUnary(sc.getSeedStats.bind(sc), { candidateId }),
      (s) => s.seedCount === expectedSeeds,
      10_000,
    );
    say(`5. GetSeedStats: seeds=${stats.seedCount} (expected ${expectedSeeds}) clicks=${stats.totalClicks} version=${stats.seedVersion} ` +
      `servable from ${stats.servableMinSeeds} seeds`);

    say('\n6. One call to each other service (no model is trained yet, and each says so):');
    const ue = clients.userEmbedding;
    const cl = clients.clusterer;
    const ls = clients.lookalikeScorer;
    const tr = clients.trainer;
    say(`   UserEmbedding.GetEmbeddings   → ${await statusOf(callUnary(ue.getEmbeddings.bind(ue), { userIds: ['user-1'], kind: 0, modelVersion: '' }))}`);
    const clusters = await waitFor(
      () => statusOf(callUnary(cl.getClusters.bind(cl), { candidateId })),
      (s) => !s.startsWith('NOT_FOUND') && !s.includes(' 0 seeds'),
      10_000,
    );
    say(`   Clusterer.GetClusters         → ${clusters}`);
    say(`   LookalikeScorer.Score         → ${await statusOf(callUnary(ls.score.bind(ls), { userId: 'user-1', features: undefined, candidateIds: [], topK: 10 }))}`);
    const models = await callUnary(tr.listModels.bind(tr), {});
    say(`   Trainer.ListModels            → OK: ${models.models.length} models`);
    say(`   SeedCollector.GetSeedStats(?) → ${await statusOf(callUnary(sc.getSeedStats.bind(sc), { candidateId: 'no-such-item' }))}`);

    say('\n7. Prometheus metrics:');
    for (const s of mesh.services) {
      const body = await (await fetch(`http://${options.host}:${s.host.metricsPort}/metrics`)).text();
      const samples = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
      say(`   ${s.name.padEnd(16)} ${samples} samples`);
    }
  } finally {
    clients.close();
    await mesh.stop();
    await fs.rm(stateDir, { recursive: true, force: true });
  }
  say(`\n8. Mesh stopped cleanly after ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return 0;
}
