/**
 * What tests need to run a real server binary (nats-server, prometheus): finding it, a
 * free loopback port, and a stop that cannot hang.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createServer } from 'node:net';

const STOP_TIMEOUT_MS = 5_000;

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed, there is nothing to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)));
  if (await Promise.race([exit.then(() => false), timedOut])) {
    child.kill('SIGKILL');
    await exit;
  }
  clearTimeout(timer);
}

/** A port the OS just handed out on loopback, for a server to bind right after (callers retry on a lost race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A server binary: `$<envVar>` when set (it must be executable), else the first `name` on
 * PATH, else `fallback` (where the Debian package puts it; PATH may lack /usr/sbin).
 * @throws Error with `howToInstall` when there is none
 */
export function findBinary(name: string, envVar: string, fallback: string, howToInstall: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  if (isExecutable(fallback)) return fallback;
  throw new Error(`${name} not found: ${howToInstall}, or set ${envVar} to its path`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
