import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { dirWithin, openWithin, realPathWithin } from '../src/security/confine';

/** Every way a caller-named path has been seen to leave its root, and the ways that stay. */
describe('dirWithin (a caller-named directory under a root)', () => {
  let base: string;
  let root: string;
  const names = { field: 'config.data_dir', root: 'TRAINING_DATA_ROOT' };
  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-confine-'));
    root = path.join(base, 'data');
    await fs.mkdir(path.join(root, 'day-1', 'part'), { recursive: true });
    // Names that begin with two dots are names, not a way up.
    await fs.mkdir(path.join(root, '..day'));
    await fs.mkdir(path.join(root, 'day-1', '..hidden'));
    await fs.mkdir(path.join(base, 'secret'));
    await fs.writeFile(path.join(root, 'a-file'), 'x');
    await fs.symlink(path.join(base, 'secret'), path.join(root, 'link-out'));
    await fs.symlink(path.join(root, 'day-1'), path.join(root, 'link-in'));
  });
  afterAll(() => fs.rm(base, { recursive: true, force: true }));

  it.each(['day-1', 'day-1/part', './day-1', 'day-1/', 'link-in', '..day', 'day-1/..hidden'])('resolves %s under the root', async (requested) => {
    const real = await dirWithin(root, requested, names);
    expect(real.startsWith(await fs.realpath(root))).toBe(true);
  });

  it.each([
    ['an absolute path inside the root', () => path.join(root, 'day-1'), /not an absolute path/],
    ['an absolute path outside', () => path.join(base, 'secret'), /not an absolute path/],
    ['..', () => '..', /'\.\.' is not allowed/],
    ['../secret', () => '../secret', /'\.\.' is not allowed/],
    ['day-1/../../secret', () => 'day-1/../../secret', /'\.\.' is not allowed/],
    ['day-1/.. (even when it would stay inside)', () => 'day-1/..', /'\.\.' is not allowed/],
    ['a backslash ..', () => '..\\secret', /'\.\.' is not allowed/],
    ['empty', () => '', /must name a directory/],
    ['a NUL byte', () => 'day-1\0', /must name a directory/],
  ])('refuses %s as INVALID_ARGUMENT before touching the filesystem', async (_, requested, reason) => {
    await expect(dirWithin(root, requested(), names)).rejects.toMatchObject({ name: 'InvalidArgumentError', field: 'config.data_dir', reason: expect.stringMatching(reason) });
  });

  it('refuses a symlink that leads out, a missing directory and a file as FAILED_PRECONDITION', async () => {
    await expect(dirWithin(root, 'link-out', names)).rejects.toMatchObject({ name: 'FailedPreconditionError', message: expect.stringMatching(/through a symlink/) });
    await expect(dirWithin(root, 'nope', names)).rejects.toMatchObject({ name: 'FailedPreconditionError', message: expect.stringMatching(/does not exist/) });
    await expect(dirWithin(root, 'a-file', names)).rejects.toMatchObject({ name: 'FailedPreconditionError', message: expect.stringMatching(/not a directory/) });
  });
});

describe('realPathWithin', () => {
  it('tells a name beginning with .. from a way out', async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-confine-'));
    try {
      await fs.mkdir(path.join(base, 'root', '..x'), { recursive: true });
      await expect(realPathWithin(path.join(base, 'root'), path.join(base, 'root', '..x'))).resolves.toMatchObject({ relative: '..x' });
      await expect(realPathWithin(path.join(base, 'root'), base)).resolves.toMatchObject({ relative: undefined });
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});

/** The read-time check: what was opened, not what a path said before. */
describe('openWithin (a file read under a root)', () => {
  let base: string;
  let root: string;
  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-open-'));
    root = path.join(base, 'data');
    await fs.mkdir(path.join(root, 'set'), { recursive: true });
    await fs.mkdir(path.join(base, 'secret'));
    await fs.writeFile(path.join(root, 'set', 'users.csv'), 'inside');
    await fs.writeFile(path.join(base, 'secret', 'users.csv'), 'outside');
    await fs.symlink(path.join(base, 'secret', 'users.csv'), path.join(root, 'set', 'linked.csv'));
  });
  afterAll(() => fs.rm(base, { recursive: true, force: true }));

  it('reads a regular file under the root', async () => {
    const handle = await openWithin(root, path.join(root, 'set', 'users.csv'));
    await expect(handle.readFile('utf8').finally(() => handle.close())).resolves.toBe('inside');
  });

  it('refuses a symlinked file and a directory', async () => {
    await expect(openWithin(root, path.join(root, 'set', 'linked.csv'))).rejects.toMatchObject({ name: 'FailedPreconditionError', message: expect.stringMatching(/is a symlink: refused/) });
    await expect(openWithin(root, path.join(root, 'set'))).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('refuses a file whose directory was swapped for a symlink out after the directory was checked', async () => {
    const checked = await dirWithin(root, 'set', { field: 'config.data_dir', root: 'TRAINING_DATA_ROOT' });
    // The swap between the request's check and the job's read.
    await fs.rename(path.join(root, 'set'), path.join(root, 'set-old'));
    await fs.symlink(path.join(base, 'secret'), path.join(root, 'set'));
    try {
      await expect(openWithin(root, path.join(checked, 'users.csv'))).rejects.toMatchObject({ name: 'FailedPreconditionError', message: expect.stringMatching(/outside the data root/) });
    } finally {
      await fs.unlink(path.join(root, 'set'));
      await fs.rename(path.join(root, 'set-old'), path.join(root, 'set'));
    }
  });
});
