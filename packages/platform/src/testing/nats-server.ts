/**
 * Test helper: a real nats-server on a free loopback port, started and killed
 * deterministically. Integration tests only; services never import this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const FALLBACK_PATH = '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface NatsServerOptions {
  /** Enable JetStream with a fresh temporary store directory. Default true. */
  jetstream?: boolean;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory (removed by `stop()`), undefined without JetStream. */
  readonly storeDir: string | undefined;
  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and removes the store directory. */
  stop(): Promise<void>;
  /**
   * Kills the server and starts it again on the same port and store, so
   * JetStream state survives. `whileDown` runs between the two, e.g. to wait
   * until a client has noticed the disconnect.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/** The nats-server binary: `$NATS_SERVER_BIN`, else the first on `PATH`, else `/usr/sbin/nats-server`. */
export function natsServerPath(): string {
  const fromEnv = process.env['NATS_SERVER_BIN'];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'nats-server');
    if (dir && isExecutable(candidate)) return candidate;
  }
  if (isExecutable(FALLBACK_PATH)) return FALLBACK_PATH;
  throw new Error('nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER_BIN to its path');
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerPath();
  const port = await freePort();
  const storeDir = options.jetstream === false ? undefined : await mkdtemp(join(tmpdir(), 'ralm-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(storeDir ? ['-js', '-sd', storeDir] : [])];
  let child = await launch(bin, args, port);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      await kill(child);
      if (storeDir) await rm(storeDir, { recursive: true, force: true });
    },
    async restart(whileDown) {
      await kill(child);
      await whileDown?.();
      child = await launch(bin, args, port);
    },
  };
}

async function launch(bin: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  // Keep the tail of the server log for the error message; reading also keeps the pipe from filling.
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`nats-server exited during start (code ${code}, signal ${signal}):\n${log}`)));
    child.once('error', reject);
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForPort(port, Date.now() + START_TIMEOUT_MS), exited]);
  } catch (err) {
    await kill(child);
    throw err;
  }
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
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

/** A port the OS just handed out on loopback; nats-server binds it right after. */
function freePort(): Promise<number> {
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

async function waitForPort(port: number, deadline: number): Promise<void> {
  for (;;) {
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
