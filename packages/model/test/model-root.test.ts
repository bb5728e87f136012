/**
 * Model artifacts are confined to MODEL_ROOT (issue 16, trusted artifacts): a published
 * location outside it, above it, nested inside a model, or a symlink out is refused
 * before anything is read; a model directly under the root is taken, by path or file URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FailedPreconditionError } from '@ralm/platform/errors';
import { modelDirWithin } from '@ralm/model';

describe('modelDirWithin', () => {
  let base: string;
  let root: string;
  beforeAll(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-model-root-')));
    root = path.join(base, 'models');
    fs.mkdirSync(path.join(root, 'v1', 'inner'), { recursive: true });
    fs.mkdirSync(path.join(base, 'elsewhere', 'v2'), { recursive: true });
    fs.symlinkSync(path.join(base, 'elsewhere', 'v2'), path.join(root, 'escape'));
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('takes a model directory directly under the root, by path or by file URL', async () => {
    await expect(modelDirWithin(root, path.join(root, 'v1'))).resolves.toBe(path.join(root, 'v1'));
    await expect(modelDirWithin(root, pathToFileURL(path.join(root, 'v1')).href)).resolves.toBe(path.join(root, 'v1'));
  });

  it.each([
    ['outside the root', () => path.join(base, 'elsewhere', 'v2')],
    ['above it with ..', () => path.join(root, '..', 'elsewhere', 'v2')],
    ['the root itself', () => root],
    ['nested inside a model', () => path.join(root, 'v1', 'inner')],
    ['a symlink out of the root', () => path.join(root, 'escape')],
    ['a file URL outside', () => pathToFileURL(path.join(base, 'elsewhere', 'v2')).href],
  ])('refuses %s', async (_what, location) => {
    const err = await modelDirWithin(root, location()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(/is not a model directory directly under MODEL_ROOT .*: refused/);
  });

  it('refuses a location that does not exist, saying so', async () => {
    await expect(modelDirWithin(root, path.join(root, 'missing'))).rejects.toThrow(/cannot be read \(ENOENT\)/);
  });
});
