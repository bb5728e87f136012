import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, FailedPreconditionError, InvalidArgumentError } from '../errors';

/**
 * Where `target` lies under `root` once both are resolved through every symlink:
 * its path relative to the root ('' for the root itself), or undefined when it is
 * outside. The one containment check for everything a caller names by path.
 */
export async function realPathWithin(root: string, target: string): Promise<{ real: string; relative: string | undefined }> {
  const realRoot = await fs.realpath(root);
  const real = await fs.realpath(target);
  const relative = relativeWithin(realRoot, real);
  return { real, relative };
}

/** `real` relative to `realRoot`, or undefined outside it (`..foo` is a name inside). */
function relativeWithin(realRoot: string, real: string): string | undefined {
  const relative = path.relative(realRoot, real);
  const outside = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return outside ? undefined : relative;
}

/**
 * Opens a file for reading only if what was opened is a regular file under `root`,
 * checked on the open descriptor itself: the last component may not be a symlink
 * (O_NOFOLLOW), and on Linux the kernel's own path of the descriptor
 * (/proc/self/fd) must lie under the root, so a directory swapped for a symlink between
 * a check and the read is caught at the read. Elsewhere the path is resolved right
 * after the open (a narrower race).
 */
export async function openWithin(root: string, file: string): Promise<fs.FileHandle> {
  const realRoot = await fs.realpath(root);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, fsSync.constants.O_RDONLY | fsSync.constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new FailedPreconditionError(`'${path.basename(file)}' is a symlink: refused (files are read only under the data root, as regular files)`);
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw Object.assign(new Error(`'${path.basename(file)}' is not a regular file`), { code: stat.isDirectory() ? 'EISDIR' : 'EINVAL' });
    const opened = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => fs.realpath(file));
    if (relativeWithin(realRoot, opened) === undefined) throw new FailedPreconditionError(`'${path.basename(file)}' lies outside the data root (a directory on its path was replaced by a symlink): refused`);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * A directory a caller named relative to a root the service was given (`data_dir`
 * under TRAINING_DATA_ROOT): refused unless it is relative, free of `..` and, every
 * symlink resolved, still under the root. Checked before anything outside the root is
 * touched, so an error never tells whether a path outside exists.
 */
export async function dirWithin(root: string, relative: string, names: { field: string; root: string }): Promise<string> {
  const clean = path.posix.normalize(relative.replaceAll('\\', '/'));
  if (relative === '' || relative.includes('\0')) throw new InvalidArgumentError(names.field, `must name a directory under ${names.root}`);
  if (path.isAbsolute(relative) || path.posix.isAbsolute(clean) || /^[A-Za-z]:/.test(relative)) {
    throw new InvalidArgumentError(names.field, `must be a path relative to ${names.root}, not an absolute path`);
  }
  if (clean === '..' || clean.startsWith('../') || relative.split(/[\\/]/).includes('..')) {
    throw new InvalidArgumentError(names.field, `must stay under ${names.root}: '..' is not allowed`);
  }
  let found: Awaited<ReturnType<typeof realPathWithin>>;
  try {
    found = await realPathWithin(root, path.join(root, clean));
  } catch (err) {
    throw new FailedPreconditionError(`${names.field} '${relative}' does not exist or is not readable under ${names.root} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (found.relative === undefined) throw new FailedPreconditionError(`${names.field} '${relative}' leads out of ${names.root} through a symlink: refused`);
  const stat = await fs.stat(found.real);
  if (!stat.isDirectory()) throw new FailedPreconditionError(`${names.field} '${relative}' is not a directory under ${names.root}`);
  await fs.access(found.real, fs.constants.R_OK).catch(() => {
    throw new FailedPreconditionError(`${names.field} '${relative}' is not readable by the service`);
  });
  return found.real;
}

/** Hosts that only this machine reaches: where plaintext and open access are acceptable. */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** A file a config variable names, readable now, or ConfigError naming the variable. */
export function readableFile(key: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    fsSync.accessSync(file, fsSync.constants.R_OK);
  } catch {
    throw new ConfigError(key, `'${file}' cannot be read`);
  }
  return file;
}
