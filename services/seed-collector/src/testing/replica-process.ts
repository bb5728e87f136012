import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '@ralm/platform/testing/process';

const MAIN = path.join(__dirname, '..', 'main.ts');
const ROOT = path.join(__dirname, '..', '..', '..', '..');

export interface ReplicaProcess {
  readonly child: ChildProcess;
  /** gRPC `127.0.0.1:<port>`. */
  readonly address: string;
  readonly metricsPort: number;
  /** SIGKILL (a crash: no final snapshot) by default; SIGTERM stops it as Kubernetes does. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * One seed-collector replica as its own process, from its real main.ts as a StatefulSet pod
 * runs it (`HOSTNAME` ending in its ordinal); resolves once it reports health SERVING, i.e.
 * its partitions are loaded and their consumers and owner subjects are up. For tests and
 * benchmarks of the partitioned collector.
 */
export async function startReplicaProcess(ordinal: number, env: NodeJS.ProcessEnv): Promise<ReplicaProcess> {
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: String(metricsPort), HOSTNAME: `ralm-seed-collector-${ordinal}`, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (c) => (output += c));
  // The port is bound first; SERVING follows once the partitions are up.
  const port = await new Promise<number>((resolve, reject) => {
    let bound: number | undefined;
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (output.length < 100_000) output += `${text}\n`;
      const entry = JSON.parse(text) as { msg?: string; port?: number };
      if (entry.msg === 'grpc server listening') bound = entry.port;
      if (entry.msg === 'health SERVING') resolve(bound!);
    });
    child.once('exit', (code) => reject(new Error(`replica ${ordinal} exited with ${code}: ${output}`)));
  });
  return {
    child,
    address: `127.0.0.1:${port}`,
    metricsPort,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
