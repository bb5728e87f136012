/** Pieces the mesh benchmarks (freshness.ts, ingest.ts) share: arguments, machine facts, statistics, tables. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { natsServerPath } from '@ralm/platform/testing/nats-server';

/** `--name value` from the command line, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** One line a reader needs to compare runs: the command, cores, node and nats-server versions. */
export function machineFacts(bench: string): string {
  let nats = 'nats-server not found';
  try {
    nats = execFileSync(natsServerPath(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as missing; the bench fails later with the helper's own message.
  }
  const command = `npx tsx bench/${bench}.ts ${process.argv.slice(2).join(' ')}`.trim();
  return `${command}\n${os.cpus().length} cores (${os.cpus()[0]?.model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${nats}, load average ${os.loadavg()[0]!.toFixed(2)}`;
}

/** Nearest-rank percentile (p in 0..1) of unsorted values: with 50 samples p99 is the maximum, and it says so rather than interpolating. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Integer with thousands separators, for rates and counts. */
export const thousands = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

/** f's value and how long it took, in seconds. */
export function timed<T>(f: () => T): { value: T; seconds: number } {
  const t0 = performance.now();
  const value = f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}
