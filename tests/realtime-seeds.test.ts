/**
 * The real-time path end to end over real gRPC: a brand-new candidate's first
 * clicks come in through the SeedCollector, and the Clusterer serves its
 * clusters — embeddings fetched from the UserEmbedding service of a trained
 * model — on the embedded bus and on a real nats-server.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { MeshClients } from '@ralm/mesh';
import { callUnary } from '@ralm/platform';
import { startLoopbackMesh, type LoopbackMesh } from './support/mesh';
import type { GetClustersResponse } from '@ralm/proto/clusterer';
import { expectStatus } from './support/grpc';
import { trainTinyModel } from './support/tiny-model';

jest.setTimeout(180_000);

let root: string;
let model: { version: string; userIds: string[] };

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-realtime-'));
  model = await trainTinyModel(path.join(root, 'models'));
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

describe.each(['memory', 'nats'] as const)('real-time seeds on the %s bus', (busKind) => {
  let loop: LoopbackMesh | undefined;
  let clients: MeshClients;

  beforeAll(async () => {
    loop = await startLoopbackMesh(busKind, { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, `state-${busKind}`) });
    clients = loop.clients;
  });
  afterAll(() => loop?.stop());

  const click = (i: number, candidateId: string) => ({ eventId: `${candidateId}-${i}`, userId: model.userIds[i]!, candidateId, timestampMs: Date.now() });

  it('serves clusters of a brand-new candidate once its first 100 distinct clickers arrive', async () => {
    const sc = clients.seedCollector;
    const cl = clients.clusterer;
    const candidateId = `fresh-${busKind}`;
    await callUnary(sc.registerCandidate.bind(sc), { candidateId, category: 'news', tags: ['new'] });
    const first = Array.from({ length: 99 }, (_, i) => click(i, candidateId));
    await expect(callUnary(sc.reportClicks.bind(sc), { clicks: first })).resolves.toMatchObject({ accepted: 99 });
    const stats = async () => (await callUnary(sc.getSeedStats.bind(sc), { candidateId })).seedCount;
    for (let i = 0; i < 500 && (await stats()) < 99; i++) await new Promise((r) => setTimeout(r, 10));
    const below = await expectStatus(callUnary(cl.getClusters.bind(cl), { candidateId }), status.FAILED_PRECONDITION);
    expect(below.details).toMatch(/seeds; clustering starts at 100/);

    const started = Date.now();
    await callUnary(sc.reportClicks.bind(sc), { clicks: [click(99, candidateId), click(5, candidateId)] });
    let clusters: GetClustersResponse | undefined;
    while (!clusters && Date.now() - started < 15_000) {
      clusters = await callUnary(cl.getClusters.bind(cl), { candidateId }).catch(() => undefined);
      if (!clusters) await new Promise((r) => setTimeout(r, 10));
    }
    expect(clusters).toMatchObject({ candidateId, clusterVersion: 1, modelVersion: model.version, seedCount: 100, dimension: 16 });
    expect(clusters!.k).toBeGreaterThan(1);
    expect(clusters!.k).toBeLessThanOrEqual(20);
    expect(clusters!.clusters.reduce((s, c) => s + c.size, 0)).toBe(100);
    for (const c of clusters!.clusters) expect(c.centroid).toHaveLength(16);
  });

  it('re-clusters on request, and says why it skipped', async () => {
    const cl = clients.clusterer;
    const candidateId = `fresh-${busKind}`;
    await expect(callUnary(cl.recluster.bind(cl), { candidateId, force: false })).resolves.toMatchObject({ skipped: true, clusterVersion: 1 });
    await expect(callUnary(cl.recluster.bind(cl), { candidateId, force: true })).resolves.toMatchObject({ skipped: false, clusterVersion: 2 });
    await expectStatus(callUnary(cl.recluster.bind(cl), { candidateId: 'never-registered', force: true }), status.NOT_FOUND);
  });

  it('answers embeddings of the published model, and lists users it does not know as missing', async () => {
    const ue = clients.userEmbedding;
    const reply = await callUnary(ue.getEmbeddings.bind(ue), { userIds: [model.userIds[0]!, 'stranger', model.userIds[1]!], kind: 0, modelVersion: '' });
    expect(reply).toMatchObject({ modelVersion: model.version, dimension: 16, missingUserIds: ['stranger'] });
    expect(reply.embeddings.map((e) => e.userId)).toEqual([model.userIds[0], model.userIds[1]]);
    await expectStatus(callUnary(ue.getEmbeddings.bind(ue), { userIds: ['x'], kind: 0, modelVersion: 'not-this-one' }), status.FAILED_PRECONDITION);
  });
});
