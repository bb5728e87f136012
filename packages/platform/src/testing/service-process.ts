import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from './process';

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** gRPC `127.0.0.1:<port>`. */
  readonly address: string;
  readonly metricsPort: number;
  /** The log lines so far, parsed. */
  readonly lines: ReadonlyArray<Record<string, unknown>>;
  /** SIGKILL (a crash: nothing flushed) by default; SIGTERM stops it as Kubernetes does. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A service as its own process from its real main.ts, as its container runs it, on loopback
 * ports of its own; resolves once it reports health SERVING (its module started, caught up).
 * For tests and benchmarks that need processes: kills, restarts, several replicas.
 */
export async function startServiceProcess(main: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  // The port is bound first; SERVING follows once the module is up.
  const port = await new Promise<number>((resolve, reject) => {
    let bound: number | undefined;
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      if (lines.length < 10_000) lines.push(entry);
      if (entry['msg'] === 'grpc server listening') bound = entry['port'] as number;
      if (entry['msg'] === 'health SERVING') resolve(bound!);
    });
    child.once('exit', (code) => reject(new Error(`${main} exited with ${code}: ${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)));
  });
  return {
    child,
    address: `127.0.0.1:${port}`,
    metricsPort,
    lines,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
