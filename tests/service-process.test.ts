import fs from 'node:fs';
import os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { checkHealth } from '@ralm/platform';

const ROOT = path.resolve(__dirname, '..');
const SERVICES = ['user-embedding', 'seed-collector', 'clusterer', 'lookalike-scorer', 'trainer'];

/** Runs a service's real main.ts as its own process, as a container would. */
function spawnService(name: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join('services', name, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first JSON log line whose msg matches. */
function logLine(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === msg) resolve(entry);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before logging '${msg}'`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe.each(SERVICES)('%s main.ts', (name) => {
  it('starts from its environment, reports SERVING, and stops cleanly on SIGTERM', async () => {
    const child = spawnService(name, {
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      MODEL_ROOT: path.join(ROOT, '.ralm', 'test-models'),
      STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), `ralm-${name}-state-`)),
    });
    const exit = exited(child);
    // A service says SERVING once ready (the clusterer and the scorer after their replay), logged when it turns.
    const serving = logLine(child, 'health SERVING');
    try {
      const started = await logLine(child, 'service started');
      expect(started).toMatchObject({ service: name, bus: 'memory' });
      await serving;
      await expect(checkHealth(`127.0.0.1:${started.grpcPort}`)).resolves.toBe('SERVING');
      const stopped = logLine(child, 'stopped');
      child.kill('SIGTERM');
      await stopped;
      await expect(exit).resolves.toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a malformed variable, naming it, with exit code 78', async () => {
    const child = spawnService(name, { GRPC_PORT: 'not-a-port' });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    await expect(exited(child)).resolves.toBe(78);
    expect(stderr).toMatch(new RegExp(`^${name}: config GRPC_PORT: .*got 'not-a-port'`));
  });
});
