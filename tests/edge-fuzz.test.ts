/**
 * Bad input at the edge (issue 15), as a client generated in another language sends it:
 * raw protobuf bytes over real gRPC on loopback, on a live mesh with a model. First the
 * reported cases one by one, then fast-check over every RPC's request type: random bytes
 * and mutations of valid requests always get a documented status (never INTERNAL or
 * UNKNOWN), and every service stays SERVING.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { callUnary, checkHealth } from '@ralm/platform';
import { ClustererServiceService, GetClustersRequest, ListClustersRequest, ReclusterRequest } from '@ralm/proto/clusterer';
import { FeedbackServiceService, ReportFeedbackRequest } from '@ralm/proto/feedback';
import { ExpandAudienceRequest, ExplainRequest, GetExclusionsRequest, LookalikeScorerServiceService, SetExclusionsRequest, ScoreBatchRequest, ScoreRequest } from '@ralm/proto/lookalike_scorer';
import {
  GetSeedStatsRequest,
  ListSeedsRequest,
  RegisterCandidateRequest,
  ReportClicksRequest,
  RetireCandidateRequest,
  SeedCollectorServiceService,
  StreamClicksRequest,
} from '@ralm/proto/seed_collector';
import { GetJobRequest, ListModelsRequest, StartTrainingRequest, TrainerServiceService, WatchJobRequest } from '@ralm/proto/trainer';
import { EmbedFeaturesRequest, GetEmbeddingsRequest, GetModelRequest, UserEmbeddingServiceService } from '@ralm/proto/user_embedding';
import { startLoopbackMesh, type LoopbackMesh } from './support/mesh';
import { trainTinyModel } from './support/tiny-model';
import { sendRaw, shapeOf, type Shape } from './support/raw-rpc';

jest.setTimeout(240_000);

/** Statuses the contract documents for a bad or unlucky request; INTERNAL and UNKNOWN are bugs. */
const DOCUMENTED = new Set(['OK', 'INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION', 'ALREADY_EXISTS', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE', 'DEADLINE_EXCEEDED', 'CANCELLED']);

interface Rpc {
  service: string;
  name: string;
  path: string;
  shape: Shape;
  /** A valid request, encoded, to mutate. */
  valid: () => Uint8Array;
}

let loop: LoopbackMesh;
let root: string;
let userIds: string[];
const raw = new Map<string, Client>();

/** Sends `bytes` as the request of `rpc` and resolves with the status name (and details). */
const send = (rpc: Rpc, bytes: Uint8Array, timeoutMs = 5000) => sendRaw(raw.get(rpc.service)!, rpc.path, rpc.shape, bytes, { timeoutMs });

const now = () => Date.now();
let rpcs: Rpc[];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-edge-'));
  const trained = await trainTinyModel(path.join(root, 'models'));
  userIds = trained.userIds;
  loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(root, 'models'), STATE_DIR: path.join(root, 'state') });
  const address = (name: Parameters<LoopbackMesh['mesh']['service']>[0]) => loop.mesh.service(name).host.address;
  for (const [service, name] of [
    ['user-embedding', 'user-embedding'],
    ['seed-collector', 'seed-collector'],
    ['clusterer', 'clusterer'],
    ['lookalike-scorer', 'lookalike-scorer'],
    ['trainer', 'trainer'],
  ] as const) {
    raw.set(service, new Client(address(name), credentials.createInsecure()));
  }
  const sc = loop.clients.seedCollector;
  await callUnary(sc.registerCandidate.bind(sc), { candidateId: 'fuzz-item', category: 'c', tags: [] });
  const of = <D extends Record<string, { path: string; requestStream: boolean; responseStream: boolean }>>(service: string, definition: D, valid: { [K in keyof D]: () => Uint8Array }): Rpc[] =>
    Object.entries(definition).map(([key, def]) => ({ service, name: key, path: def.path, shape: shapeOf(def), valid: valid[key as keyof D] }));
  rpcs = [
    ...of('user-embedding', UserEmbeddingServiceService, {
      getEmbeddings: () => GetEmbeddingsRequest.encode(GetEmbeddingsRequest.fromPartial({ userIds: [userIds[0]!], kind: 1 })).finish(),
      embedFeatures: () => EmbedFeaturesRequest.encode(EmbedFeaturesRequest.fromPartial({ users: [{ fields: {} }], kind: 1 })).finish(),
      getModel: () => GetModelRequest.encode({}).finish(),
    }),
    ...of('seed-collector', SeedCollectorServiceService, {
      reportClicks: () => ReportClicksRequest.encode({ clicks: [{ eventId: `e${Math.random()}`, userId: userIds[1]!, candidateId: 'fuzz-item', timestampMs: now() }] }).finish(),
      streamClicks: () => StreamClicksRequest.encode({ clicks: [{ eventId: `s${Math.random()}`, userId: userIds[2]!, candidateId: 'fuzz-item', timestampMs: now() }] }).finish(),
      getSeedStats: () => GetSeedStatsRequest.encode({ candidateId: 'fuzz-item' }).finish(),
      registerCandidate: () => RegisterCandidateRequest.encode({ candidateId: 'fuzz-item', category: 'c', tags: [] }).finish(),
      retireCandidate: () => RetireCandidateRequest.encode(RetireCandidateRequest.fromPartial({ candidateId: 'no-such-item' })).finish(),
      listSeeds: () => ListSeedsRequest.encode(ListSeedsRequest.fromPartial({ candidateId: 'fuzz-item' })).finish(),
    }),
    ...of('seed-collector', FeedbackServiceService, {
      reportFeedback: () => ReportFeedbackRequest.encode(ReportFeedbackRequest.fromPartial({ events: [{ eventId: `f${Math.random()}`, userId: userIds[0]!, itemId: 'fuzz-item', kind: 1, timestampMs: now() }] })).finish(),
    }),
    ...of('clusterer', ClustererServiceService, {
      getClusters: () => GetClustersRequest.encode(GetClustersRequest.fromPartial({ candidateId: 'fuzz-item' })).finish(),
      recluster: () => ReclusterRequest.encode(ReclusterRequest.fromPartial({ candidateId: 'fuzz-item' })).finish(),
      listClusters: () => ListClustersRequest.encode(ListClustersRequest.fromPartial({ countsOnly: true })).finish(),
    }),
    ...of('lookalike-scorer', LookalikeScorerServiceService, {
      score: () => ScoreRequest.encode(ScoreRequest.fromPartial({ userId: userIds[0]!, topK: 5 })).finish(),
      scoreBatch: () => ScoreBatchRequest.encode(ScoreBatchRequest.fromPartial({ requests: [{ userId: userIds[0]!, topK: 5 }] })).finish(),
      explain: () => ExplainRequest.encode(ExplainRequest.fromPartial({ userId: userIds[0]!, candidateId: 'fuzz-item' })).finish(),
      expandAudience: () => ExpandAudienceRequest.encode(ExpandAudienceRequest.fromPartial({ candidateId: 'fuzz-item', size: 100 })).finish(),
      setExclusions: () => SetExclusionsRequest.encode(SetExclusionsRequest.fromPartial({ candidateId: 'fuzz-item', addUserIds: [userIds[1]!] })).finish(),
      getExclusions: () => GetExclusionsRequest.encode(GetExclusionsRequest.fromPartial({ candidateId: 'fuzz-item' })).finish(),
    }),
    ...of('trainer', TrainerServiceService, {
      // A data dir that does not exist: FAILED_PRECONDITION, and no training is started by the fuzzer.
      startTraining: () => StartTrainingRequest.encode(StartTrainingRequest.fromPartial({ config: { dataDir: '/nonexistent/fuzz' } })).finish(),
      getJob: () => GetJobRequest.encode({ jobId: 'no-such-job' }).finish(),
      watchJob: () => WatchJobRequest.encode({ jobId: 'no-such-job' }).finish(),
      listModels: () => ListModelsRequest.encode({}).finish(),
    }),
  ];
});

afterAll(async () => {
  for (const c of raw.values()) c.close();
  await loop?.stop();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const rpc = (service: string, name: string) => rpcs.find((r) => r.service === service && r.name === name)!;

/** A ClickEvent (seed_collector.proto) written by hand: any bytes in its string fields, any int64 time. */
function clickBytes(e: { eventId: Uint8Array; userId: Uint8Array; candidateId: string; timestampMs: bigint }): Uint8Array {
  const w = new BinaryWriter();
  w.uint32(10).bytes(e.eventId).uint32(18).bytes(e.userId).uint32(26).string(e.candidateId).uint32(32).int64(e.timestampMs);
  return w.finish();
}
const reportClicks = (...clicks: Uint8Array[]) => {
  const w = new BinaryWriter();
  for (const c of clicks) w.uint32(10).bytes(c);
  return w.finish();
};
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('the reported bad inputs', () => {
  it('an int64 time beyond 2^53 rejects that click by name; the valid click of the same batch is accepted', async () => {
    const sc = loop.clients.seedCollector;
    const bytes = reportClicks(
      clickBytes({ eventId: utf8('big-1'), userId: utf8(userIds[3]!), candidateId: 'fuzz-item', timestampMs: 2n ** 62n }),
      clickBytes({ eventId: utf8('ok-1'), userId: utf8(userIds[4]!), candidateId: 'fuzz-item', timestampMs: BigInt(now()) }),
    );
    await expect(send(rpc('seed-collector', 'reportClicks'), bytes)).resolves.toEqual({ code: 'OK', details: '' });
    const stats = await callUnary(sc.getSeedStats.bind(sc), { candidateId: 'fuzz-item' });
    expect(stats.totalClicks).toBeGreaterThanOrEqual(1);
    // The same batch through the typed client shows the per-click verdicts.
    const again = await callUnary(sc.reportClicks.bind(sc), {
      clicks: [
        { eventId: 'big-2', userId: userIds[3]!, candidateId: 'fuzz-item', timestampMs: 2 ** 53 },
        { eventId: 'ok-2', userId: userIds[5]!, candidateId: 'fuzz-item', timestampMs: now() },
      ],
    });
    expect(again.accepted).toBe(1);
    expect(again.rejections).toEqual([expect.objectContaining({ index: 0, reason: expect.stringMatching(/timestamp_ms/) })]);
  });

  it('invalid UTF-8 in an id is INVALID_ARGUMENT, never merged into another id', async () => {
    const bad = reportClicks(clickBytes({ eventId: utf8('u8-1'), userId: Uint8Array.of(0x75, 0xff, 0x31), candidateId: 'fuzz-item', timestampMs: BigInt(now()) }));
    const reply = await send(rpc('seed-collector', 'reportClicks'), bad);
    expect(reply.code).toBe('INVALID_ARGUMENT');
    expect(reply.details).toMatch(/^request: could not be decoded as the method's request message: /);
  });

  it('limits count bytes, and an echoed value is cut: a 1 MB data_dir gets a short INVALID_ARGUMENT', async () => {
    const tr = loop.clients.trainer;
    const long = await callUnary(tr.startTraining.bind(tr), StartTrainingRequest.fromPartial({ config: { dataDir: '/d/' + 'x'.repeat(1 << 20) } })).catch((e: ServiceError) => e);
    expect(status[(long as ServiceError).code]).toBe('INVALID_ARGUMENT');
    expect(Buffer.byteLength((long as ServiceError).details)).toBeLessThanOrEqual(1024);
    const sc = loop.clients.seedCollector;
    const wide = await callUnary(sc.registerCandidate.bind(sc), { candidateId: 'é'.repeat(129), category: '', tags: [] }).catch((e: ServiceError) => e);
    expect((wide as ServiceError).details).toBe('candidate_id: is longer than 256 bytes of UTF-8');
  });

  it('an enum value the contract lacks is refused: TrainingConfig.tower = 9 does not train', async () => {
    const tr = loop.clients.trainer;
    const err = (await callUnary(tr.startTraining.bind(tr), StartTrainingRequest.fromPartial({ config: { dataDir: root, tower: 9 as never } })).catch((e: ServiceError) => e)) as ServiceError;
    expect(status[err.code]).toBe('INVALID_ARGUMENT');
    expect(err.details).toMatch(/^config\.tower: 9 is not a value of this enum/);
  });

  it('features are checked against the model schema: a number for a list field, a 1 MB id, 1,001 ids', async () => {
    const ls = loop.clients.lookalikeScorer;
    const model = await callUnary(loop.clients.userEmbedding.getModel.bind(loop.clients.userEmbedding), {});
    expect(model.modelVersion).not.toBe('');
    const score = (fields: object) => callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: 'new-user', features: { fields: fields as never } })).catch((e: ServiceError) => e as ServiceError);
    // The tiny model's schema (synthetic data): interest_tags is multivalent, age continuous.
    const listAsNumber = (await score({ interest_tags: { number: 3 } })) as ServiceError;
    expect(listAsNumber.details).toMatch(/features\.fields\[interest_tags\]: is a multivalent field: set ids, not number/);
    const hugeId = (await score({ region: { id: 'r'.repeat(1 << 20) } })) as ServiceError;
    expect(hugeId.details).toBe('features.fields[region].id: is longer than 256 bytes of UTF-8');
    const manyIds = (await score({ interest_tags: { ids: { values: Array.from({ length: 1001 }, (_, i) => `t${i}`) } } })) as ServiceError;
    expect(manyIds.details).toBe('features.fields[interest_tags].ids.values: has 1001 entries; at most 1000 allowed');
  });
});

describe('fuzzing every RPC', () => {
  it('random bytes and mutated valid requests always get a documented status, and every service stays SERVING', async () => {
    const seen = new Map<string, Set<string>>();
    const mutate = (bytes: Uint8Array, edits: Array<{ at: number; value: number; kind: number }>) => {
      let out = Array.from(bytes);
      for (const e of edits) {
        const at = out.length === 0 ? 0 : e.at % out.length;
        if (e.kind === 0) out[at] = e.value;
        else if (e.kind === 1) out.splice(at, 1);
        else if (e.kind === 2) out.splice(at, 0, e.value);
        else out = out.slice(0, at);
      }
      return Uint8Array.from(out);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: rpcs.length - 1 }),
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ bytes })),
          fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), kind: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 6 }).map((edits) => ({ edits })),
        ),
        async (index, input) => {
          const target = rpcs[index]!;
          const bytes = 'bytes' in input ? input.bytes : mutate(target.valid(), input.edits);
          const reply = await send(target, bytes);
          const key = `${target.service}/${target.name}`;
          if (!seen.has(key)) seen.set(key, new Set());
          seen.get(key)!.add(reply.code);
          expect({ rpc: key, code: reply.code, documented: DOCUMENTED.has(reply.code) }).toEqual({ rpc: key, code: reply.code, documented: true });
        },
      ),
      { numRuns: 600, seed: 15 },
    );
    // Every RPC was reached, and the mutations found more than one outcome somewhere.
    expect(seen.size).toBe(rpcs.length);
    expect([...seen.values()].some((codes) => codes.size > 1)).toBe(true);
    for (const s of loop.mesh.services) await expect(checkHealth(s.host.address)).resolves.toBe('SERVING');
  });
});
