/**
 * Test helper: a real nats-server on a free loopback port, started and killed
 * deterministically. Integration tests only; services never import this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, stopProcess } from './process';

const FALLBACK_PATH = '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 10_000;

export interface NatsServerOptions {
  /** Enable JetStream with a fresh temporary store directory. Default true. */
  jetstream?: boolean;
  /** JetStream's file storage limit in bytes (a config file's `max_file_store`): a disk that fills. */
  maxFileStoreBytes?: number;
  /** Extra server configuration (authorization, accounts, tls blocks), written into its config file. */
  config?: string;
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
  /** The tail of the server's log (its stderr) since the last start: why it refused a client. */
  log(): string;
}

/** The nats-server binary: `$NATS_SERVER_BIN`, else the first on `PATH`, else `/usr/sbin/nats-server`. */
export function natsServerPath(): string {
  return findBinary('nats-server', 'NATS_SERVER_BIN', FALLBACK_PATH, 'install it (apt-get install nats-server)');
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerPath();
  const port = await freePort();
  const storeDir = options.jetstream === false ? undefined : await mkdtemp(join(tmpdir(), 'ralm-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.maxFileStoreBytes !== undefined || options.config !== undefined) {
    // Limits and auth exist only in a config file, which then also names the store (not -js -sd as well).
    const confDir = storeDir ?? (await mkdtemp(join(tmpdir(), 'ralm-nats-conf-')));
    const conf = join(confDir, 'server.conf');
    const limit = options.maxFileStoreBytes !== undefined ? `, max_file_store: ${options.maxFileStoreBytes}` : '';
    await writeFile(conf, `${storeDir ? `jetstream { store_dir: "${storeDir}"${limit} }\n` : ''}${options.config ?? ''}\n`);
    args.push('-c', conf);
  } else if (storeDir) args.push('-js', '-sd', storeDir);
  let { child, log } = await launch(bin, args, port);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      await stopProcess(child);
      if (storeDir) await rm(storeDir, { recursive: true, force: true });
    },
    async restart(whileDown) {
      await stopProcess(child);
      await whileDown?.();
      ({ child, log } = await launch(bin, args, port));
    },
    log: () => log(),
  };
}

async function launch(bin: string, args: string[], port: number): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  // Keep the tail of the server log for errors and tests; reading also keeps the pipe from filling.
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-64_000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`nats-server exited during start (code ${code}, signal ${signal}):\n${log}`)));
    child.once('error', reject);
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForPort(port, Date.now() + START_TIMEOUT_MS), exited]);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { child, log: () => log };
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

