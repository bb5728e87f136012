/**
 * Trusted artifacts (issue 16): a `model.published` event is only a pointer, and one
 * pointing outside MODEL_ROOT is refused by the services that load models. Before, the
 * scorer and user-embedding loaded and served any readable directory it named.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { callUnary, Subjects } from '@ralm/platform';
import { ScoreRequest } from '@ralm/proto/lookalike_scorer';
import { waitFor } from '@ralm/mesh';
import { startLoopbackMesh, type LoopbackMesh } from './support/mesh';
import { TINY_MODEL, trainTinyModel } from './support/tiny-model';

jest.setTimeout(120_000);

describe('a model announced outside MODEL_ROOT', () => {
  let base: string;
  let loop: LoopbackMesh;
  let a: { version: string; dir: string };
  let b: { version: string; dir: string };
  let userIds: string[];

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-trusted-'));
    const trained = [];
    for (const seed of [5, 9]) {
      const t = await trainTinyModel(path.join(base, `staging-${seed}`), 600, { ...TINY_MODEL, seed });
      trained.push({ version: t.version, dir: path.join(base, `staging-${seed}`, t.version) });
      userIds = t.userIds;
    }
    [a, b] = trained as [typeof a, typeof b];
    await fs.mkdir(path.join(base, 'models'));
    await fs.cp(a.dir, path.join(base, 'models', a.version), { recursive: true });
    loop = await startLoopbackMesh('memory', { MODEL_ROOT: path.join(base, 'models'), STATE_DIR: path.join(base, 'state') });
  });
  afterAll(async () => {
    await loop?.stop();
    await fs.rm(base, { recursive: true, force: true });
  });

  const announce = (version: string, dir: string) =>
    loop.mesh.bus.publish(Subjects.modelPublished, { modelVersion: version, artifactUri: pathToFileURL(dir).href, userDim: TINY_MODEL.userDim, lookalikeDim: TINY_MODEL.lookalikeDim, publishedAtMs: Date.now(), metrics: {} });
  const served = async () => {
    const ue = loop.clients.userEmbedding;
    const ls = loop.clients.lookalikeScorer;
    const model = await callUnary(ue.getModel.bind(ue), {});
    const reply = await callUnary(ls.score.bind(ls), ScoreRequest.fromPartial({ userId: userIds[0]!, topK: 1 }));
    return { userEmbedding: model.modelVersion, scorer: reply.modelVersion };
  };

  it('is refused by user-embedding and the scorer, which go on serving theirs; the same model under the root is taken', async () => {
    await waitFor(served, (s) => s.userEmbedding === a.version && s.scorer === a.version, 30_000);
    // Outside the root (its staging folder), then above it with `..`: both refused. A tiny
    // model loads in well under a second, so three seconds on A means neither was taken.
    await announce(b.version, b.dir);
    await announce(b.version, path.join(base, 'models', '..', `staging-9`, b.version));
    const seen = new Set<string>();
    for (const end = Date.now() + 3000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      const s = await served();
      seen.add(s.userEmbedding).add(s.scorer);
    }
    expect([...seen]).toEqual([a.version]);
    // The same model under the root is taken.
    await fs.cp(b.dir, path.join(base, 'models', b.version), { recursive: true });
    await announce(b.version, path.join(base, 'models', b.version));
    const after = await waitFor(served, (s) => s.userEmbedding === b.version && s.scorer === b.version, 60_000);
    expect(after).toEqual({ userEmbedding: b.version, scorer: b.version });
  });
});
