/**
 * Authorization on a live mesh over real TLS handshakes: every RPC of the contract,
 * called by each kind of caller, is allowed exactly for the roles the policy documents
 * (docs/SECURITY.md) and PERMISSION_DENIED otherwise; callers that prove nothing are
 * UNAUTHENTICATED; the services' own calls to each other pass with their identity —
 * a client certificate in one mesh, a bearer token file in the other.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { connectClients, startMesh, waitFor, type Mesh, type ServiceName } from '@ralm/mesh';
import { clientCredentials } from '@ralm/platform';
import { createTestCa, type TestCa } from '@ralm/platform/testing/pki';
import { ClustererServiceService } from '@ralm/proto/clusterer';
import { FeedbackServiceService } from '@ralm/proto/feedback';
import { LookalikeScorerServiceService } from '@ralm/proto/lookalike_scorer';
import { SeedCollectorServiceService } from '@ralm/proto/seed_collector';
import { TrainerServiceService } from '@ralm/proto/trainer';
import { UserEmbeddingServiceService } from '@ralm/proto/user_embedding';
import { sendRaw, shapeOf, type Shape } from './support/raw-rpc';
import { trainTinyModel } from './support/tiny-model';

jest.setTimeout(180_000);

/**
 * The documented policy, written out here as the oracle (r = recommender, o = operator,
 * c = the clusterer, l = the lookalike scorer): a change to security/policy.ts that does not change this is caught.
 */
const DOCUMENTED: Record<string, string> = {
  'SeedCollectorService/ReportClicks': 'r',
  'SeedCollectorService/StreamClicks': 'r',
  'SeedCollectorService/GetSeedStats': 'o',
  'SeedCollectorService/RegisterCandidate': 'o',
  'SeedCollectorService/RetireCandidate': 'o',
  'SeedCollectorService/ListSeeds': 'cl',
  'FeedbackService/ReportFeedback': 'r',
  'ClustererService/GetClusters': 'ol',
  'ClustererService/Recluster': 'o',
  'ClustererService/ListClusters': 'ol',
  'LookalikeScorerService/Score': 'r',
  'LookalikeScorerService/ScoreBatch': 'r',
  'LookalikeScorerService/Explain': 'ro',
  'LookalikeScorerService/ExpandAudience': 'o',
  'LookalikeScorerService/SetExclusions': 'o',
  'LookalikeScorerService/GetExclusions': 'o',
  'TrainerService/StartTraining': 'o',
  'TrainerService/GetJob': 'o',
  'TrainerService/WatchJob': 'o',
  'TrainerService/ListModels': 'o',
  'UserEmbeddingService/GetEmbeddings': 'c',
  'UserEmbeddingService/EmbedFeatures': 'r',
  'UserEmbeddingService/GetModel': 'roc',
};
const LETTER: Record<string, string> = { recommender: 'r', operator: 'o', clusterer: 'c', 'lookalike-scorer': 'l' };
const CALLERS = ['recommender', 'operator', 'clusterer', 'lookalike-scorer', 'nobody'];
const SERVICE_NAMES: ServiceName[] = ['user-embedding', 'seed-collector', 'clusterer', 'lookalike-scorer', 'trainer'];

interface Rpc {
  method: string;
  server: ServiceName;
  path: string;
  shape: Shape;
}
const RPCS: Rpc[] = (
  [
    ['seed-collector', SeedCollectorServiceService],
    ['seed-collector', FeedbackServiceService],
    ['clusterer', ClustererServiceService],
    ['lookalike-scorer', LookalikeScorerServiceService],
    ['trainer', TrainerServiceService],
    ['user-embedding', UserEmbeddingServiceService],
  ] as const
).flatMap(([server, definition]) =>
  Object.values(definition as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>).map((def) => ({
    server,
    path: def.path,
    shape: shapeOf(def),
    method: def.path.split('.').pop()!,
  })),
);

let base: string;
let ca: TestCa;
beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-security-'));
  ca = createTestCa(path.join(base, 'ca'));
});
afterAll(() => fs.rm(base, { recursive: true, force: true }));

const tlsEnv = (mode: 'tls' | 'mtls', cert: { cert: string; key: string; ca: string }) => ({ GRPC_TLS: mode, GRPC_TLS_CERT_FILE: cert.cert, GRPC_TLS_KEY_FILE: cert.key, GRPC_TLS_CA_FILE: cert.ca, GRPC_AUTH: 'required' });
const startSecureMesh = (root: string, env: NodeJS.ProcessEnv, serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>) =>
  startMesh({ portBase: 0, host: '127.0.0.1', logLevel: 'silent', baseEnv: {}, env: { STATE_DIR: path.join(root, 'state'), MODEL_ROOT: path.join(root, 'models'), SHUTDOWN_GRACE_SECONDS: '2', ...env }, serviceEnv });

describe('a mesh with mTLS: roles from client certificates', () => {
  let mesh: Mesh;
  const clients = new Map<string, Map<ServiceName, Client>>();
  beforeAll(async () => {
    const root = path.join(base, 'mtls');
    // Each service its own certificate, its OU its name, as the chart issues them.
    const own = (name: ServiceName) => tlsEnv('mtls', ca.issue(`ralm-${name}`, { roles: [name] }));
    mesh = await startSecureMesh(root, own('seed-collector'), Object.fromEntries(SERVICE_NAMES.map((n) => [n, own(n)])));
    for (const who of CALLERS) {
      const cert = ca.issue(`client-${who}`, { roles: who === 'nobody' ? [] : [who] });
      const creds = clientCredentials({ mode: 'mtls', caFile: ca.caCert, certFile: cert.cert, keyFile: cert.key, reloadMs: 60_000 });
      clients.set(who, new Map(mesh.services.map((s) => [s.name as ServiceName, new Client(s.host.address, creds)])));
    }
  });
  afterAll(async () => {
    for (const m of clients.values()) for (const c of m.values()) c.close();
    await mesh?.stop();
  });

  it('covers every RPC of the contract', () => {
    expect(RPCS.map((r) => r.method).sort()).toEqual(Object.keys(DOCUMENTED).sort());
  });

  it.each(CALLERS)('allows %s exactly the documented RPCs and refuses it the rest with PERMISSION_DENIED', async (who) => {
    const seen: Record<string, string> = {};
    for (const rpc of RPCS) {
      const { code } = await sendRaw(clients.get(who)!.get(rpc.server)!, rpc.path, rpc.shape, new Uint8Array(0));
      seen[rpc.method] = code;
    }
    for (const rpc of RPCS) {
      const allowed = who !== 'nobody' && DOCUMENTED[rpc.method]!.includes(LETTER[who]!);
      // Allowed calls carry an empty request: whatever the handler answers, it is not a refusal of the caller.
      if (allowed) expect([rpc.method, seen[rpc.method]]).not.toEqual([rpc.method, expect.stringMatching(/^(PERMISSION_DENIED|UNAUTHENTICATED)$/)]);
      else expect([rpc.method, seen[rpc.method]]).toEqual([rpc.method, 'PERMISSION_DENIED']);
    }
  });

  it('refuses a client without a certificate at the handshake', async () => {
    const plain = new Client(mesh.service('lookalike-scorer').host.address, credentials.createInsecure());
    const tlsOnly = new Client(mesh.service('lookalike-scorer').host.address, clientCredentials({ mode: 'tls', caFile: ca.caCert, reloadMs: 60_000 }));
    try {
      const score = RPCS.find((r) => r.method === 'LookalikeScorerService/Score')!;
      await expect(sendRaw(plain, score.path, score.shape, new Uint8Array(0))).resolves.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(sendRaw(tlsOnly, score.path, score.shape, new Uint8Array(0))).resolves.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      plain.close();
      tlsOnly.close();
    }
  });
});

describe('a mesh with TLS and bearer tokens: the services call each other with their token file', () => {
  let mesh: Mesh;
  let key: CryptoKey;
  let userIds: string[];
  const token = (roles: string[], exp: string | number = '10m') =>
    new SignJWT({ roles }).setProtectedHeader({ alg: 'ES256', kid: 'test' }).setIssuer('https://idp.test').setAudience('ralm').setExpirationTime(exp).sign(key);
  const bearer = (jwt: string) => {
    const m = new Metadata();
    m.set('authorization', `Bearer ${jwt}`);
    return m;
  };

  beforeAll(async () => {
    const root = path.join(base, 'jwt');
    ({ userIds } = await trainTinyModel(path.join(root, 'models')));
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    await fs.writeFile(path.join(base, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'test', alg: 'ES256' }] }));
    // Each calling service its own token: the clusterer's role reads seeds, the scorer's reads clusters.
    for (const name of ['clusterer', 'lookalike-scorer']) await fs.writeFile(path.join(base, `${name}.token`), await token([name], '1h'));
    mesh = await startSecureMesh(root, {
      ...tlsEnv('tls', ca.issue('ralm-service-tls')),
      AUTH_JWT_JWKS_FILE: path.join(base, 'jwks.json'),
      AUTH_JWT_ISSUER: 'https://idp.test',
      AUTH_JWT_AUDIENCE: 'ralm',
      AUTH_JWT_ALGORITHMS: 'ES256',
      SERVABLE_MIN_SEEDS: '10',
    }, {
      clusterer: { GRPC_CLIENT_TOKEN_FILE: path.join(base, 'clusterer.token') },
      'lookalike-scorer': { GRPC_CLIENT_TOKEN_FILE: path.join(base, 'lookalike-scorer.token') },
    });
  });
  afterAll(() => mesh?.stop());

  it('refuses no token, an expired one and one of another signer as UNAUTHENTICATED; checks roles on valid ones', async () => {
    const client = new Client(mesh.service('clusterer').host.address, clientCredentials({ mode: 'tls', caFile: ca.caCert, reloadMs: 60_000 }));
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT({ roles: ['operator'] }).setProtectedHeader({ alg: 'ES256', kid: 'test' }).setIssuer('https://idp.test').setAudience('ralm').setExpirationTime('5m').sign(other.privateKey);
    const recluster = RPCS.find((r) => r.method === 'ClustererService/Recluster')!;
    const call = (metadata?: Metadata) => sendRaw(client, recluster.path, recluster.shape, new Uint8Array(0), { metadata });
    try {
      await expect(call()).resolves.toMatchObject({ code: 'UNAUTHENTICATED', details: 'no bearer token' });
      await expect(call(bearer(await token(['operator'], Math.floor(Date.now() / 1000) - 60)))).resolves.toMatchObject({ code: 'UNAUTHENTICATED', details: expect.stringMatching(/ERR_JWT_EXPIRED/) });
      await expect(call(bearer(forged))).resolves.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(call(bearer(await token(['recommender'])))).resolves.toMatchObject({ code: 'PERMISSION_DENIED' });
      await expect(call(bearer(await token(['operator'])))).resolves.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      client.close();
    }
  });

  it('runs the real-time path: the clusterer reads seeds and embeddings, the scorer clusters, each with its own token', async () => {
    const operator = connectClients(mesh, clientCredentials({ mode: 'tls', caFile: ca.caCert, reloadMs: 60_000 }));
    try {
      const opMeta = bearer(await token(['operator']));
      const recMeta = bearer(await token(['recommender']));
      const sc = operator.seedCollector;
      await new Promise((resolve, reject) => sc.registerCandidate({ candidateId: 'sec-item', category: 'c', tags: [] }, opMeta, (err, r) => (err ? reject(err) : resolve(r))));
      const clicks = userIds.slice(0, 12).map((userId, i) => ({ eventId: `sec-${i}`, userId, candidateId: 'sec-item', timestampMs: Date.now() }));
      await new Promise((resolve, reject) => sc.reportClicks({ clicks }, recMeta, (err, r) => (err ? reject(err) : resolve(r))));
      const cl = operator.clusterer;
      const clusters = await waitFor(
        () => new Promise((resolve) => cl.getClusters({ candidateId: 'sec-item' }, opMeta, (err, r) => resolve(err ? undefined : r))),
        (r) => r !== undefined,
        30_000,
      );
      expect(clusters).toMatchObject({ candidateId: 'sec-item', seedCount: 12 });
      // The scorer fetches the clusters with its own token; a recommender's Score then serves the candidate.
      const scorer = operator.lookalikeScorer;
      const scored = await waitFor(
        () => new Promise<{ servable: boolean } | undefined>((resolve) => scorer.score({ userId: userIds[20]!, candidateIds: ['sec-item'], topK: 0 } as never, recMeta, (err, r) => resolve(err ? undefined : r?.scores[0]))),
        (r) => r?.servable === true,
        30_000,
      );
      expect(scored).toMatchObject({ candidateId: 'sec-item', servable: true });
    } finally {
      operator.close();
    }
  });
});
