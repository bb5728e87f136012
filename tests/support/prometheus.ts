/**
 * Test helper: a real Prometheus server on a free loopback port, scraping the
 * given targets and evaluating the given rule files, started and stopped
 * deterministically (the same pattern as packages/platform/src/testing/nats-server.ts).
 * Integration tests only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findBinary, freePort, stopProcess } from '@ralm/platform/testing/process';

const FALLBACK_PATH = '/usr/bin/prometheus';
const START_TIMEOUT_MS = 15_000;
const POLL_MS = 100;
const MISSING = "Debian package 'prometheus'; `make test` installs it";

export interface ScrapeJob {
  /** The `job` label of every target. */
  job: string;
  /** `host:port` of each target. */
  targets: string[];
  /** Default `/metrics`. */
  metricsPath?: string;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Rule files (absolute, or relative to the working directory). */
  ruleFiles?: string[];
  /** Default `1s`. */
  scrapeInterval?: string;
  /** Default `1s`. */
  evaluationInterval?: string;
}

export interface Sample {
  metric: Record<string, string>;
  /** The sample value; `NaN`, `+Inf` and `-Inf` come back as the JavaScript numbers. */
  value: number;
}

export interface ScrapeTarget {
  job: string;
  scrapeUrl: string;
  /** `up`, `down` or `unknown` (not scraped yet). */
  health: string;
  lastError: string;
  labels: Record<string, string>;
}

export interface RecordingRuleState {
  group: string;
  name: string;
  /** `ok`, `err` or `unknown` (not evaluated yet). */
  health: string;
  lastError: string;
}

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The generated prometheus.yml (inside the temporary directory `stop()` removes). */
  readonly configFile: string;
  /** An instant query at the current time; throws on a PromQL or HTTP error. A scalar comes back as one sample without labels. */
  query(expr: string): Promise<Sample[]>;
  /** Repeats `query(expr)` until `predicate` holds on its result, and returns that result; throws after `timeoutMs` with the last result. */
  waitFor(expr: string, predicate: (samples: Sample[]) => boolean, timeoutMs: number): Promise<Sample[]>;
  /** The active scrape targets (`/api/v1/targets`). */
  targets(): Promise<ScrapeTarget[]>;
  /** Every recording rule with its evaluation health (`/api/v1/rules?type=record`). */
  recordingRules(): Promise<RecordingRuleState[]>;
  /** SIGTERM (SIGKILL after 5 s), waits for the exit, removes the temporary directory. */
  stop(): Promise<void>;
}

/** The prometheus binary: `$PROMETHEUS_BIN`, else the first on `PATH`, else `/usr/bin/prometheus`. */
export function prometheusPath(): string {
  return findBinary('prometheus', 'PROMETHEUS_BIN', FALLBACK_PATH, MISSING);
}

/** Writes the config into a fresh temporary directory (which also holds the TSDB) and starts Prometheus on it. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const bin = prometheusPath();
  const dir = await mkdtemp(join(tmpdir(), 'ralm-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    await writeFile(configFile, prometheusConfig(options));
    // The free port may be taken between the probe and Prometheus's bind: try another one then.
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      const args = [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
      try {
        child = await launch(bin, args, `http://127.0.0.1:${port}`);
      } catch (err) {
        if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const running = child;
  const url = `http://127.0.0.1:${port}`;
  const query = async (expr: string): Promise<Sample[]> => {
    const data = await apiGet<{ resultType: string; result: unknown }>(url, `/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === 'vector') {
      return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({ metric: r.metric, value: parseValue(r.value[1]) }));
    }
    if (data.resultType === 'scalar') return [{ metric: {}, value: parseValue((data.result as [number, string])[1]) }];
    throw new Error(`query ${expr} returned a ${data.resultType}, not an instant vector or scalar`);
  };
  return {
    url,
    port,
    configFile,
    query,
    async waitFor(expr, predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last: Sample[] | undefined;
      let lastError: unknown;
      for (;;) {
        try {
          last = await query(expr);
          lastError = undefined;
          if (predicate(last)) return last;
        } catch (err) {
          lastError = err;
        }
        if (Date.now() > deadline) {
          const seen = lastError !== undefined ? `the last query failed: ${String(lastError)}` : `the last result was ${JSON.stringify(last)}`;
          throw new Error(`${expr} did not satisfy the condition within ${timeoutMs} ms; ${seen}`);
        }
        await sleep(POLL_MS);
      }
    },
    async targets() {
      const data = await apiGet<{ activeTargets: Array<{ scrapePool: string; scrapeUrl: string; health: string; lastError: string; labels: Record<string, string> }> }>(url, '/api/v1/targets?state=active');
      return data.activeTargets.map((t) => ({ job: t.labels['job'] ?? t.scrapePool, scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError, labels: t.labels }));
    },
    async recordingRules() {
      const data = await apiGet<{ groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> }>(url, '/api/v1/rules?type=record');
      return data.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, name: r.name, health: r.health, lastError: r.lastError ?? '' })));
    },
    async stop() {
      await stopProcess(running);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** prometheus.yml as JSON, which is YAML too. */
export function prometheusConfig(options: PrometheusOptions): string {
  const config = {
    global: { scrape_interval: options.scrapeInterval ?? '1s', evaluation_interval: options.evaluationInterval ?? '1s' },
    rule_files: (options.ruleFiles ?? []).map((f) => resolve(f)),
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? '/metrics',
      static_configs: [{ targets: j.targets }],
    })),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Prometheus writes NaN and the infinities as strings `Number()` does not read. */
function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return Number(text);
}

async function apiGet<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  const body = (await res.json().catch(() => undefined)) as { status?: string; data?: T; errorType?: string; error?: string } | undefined;
  if (!res.ok || body?.status !== 'success' || body.data === undefined) {
    throw new Error(`GET ${path}: HTTP ${res.status}${body?.error ? `, ${body.errorType}: ${body.error}` : ''}`);
  }
  return body.data;
}

async function launch(bin: string, args: string[], url: string): Promise<ChildProcess> {
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`cannot start ${bin} (${MISSING}): ${String(err)}`);
  }
  let log = '';
  // Keep the tail of the server log for the error message; reading also keeps the pipe from filling.
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`prometheus exited during start (code ${code}, signal ${signal}):\n${log}`)));
    child.once('error', (err) => reject(new Error(`cannot start ${bin} (${MISSING}): ${err.message}`)));
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitUntilReady(url, Date.now() + START_TIMEOUT_MS), exited]);
  } catch (err) {
    const exitedEarly = child.exitCode !== null || child.signalCode !== null;
    await stopProcess(child);
    // An early exit's error already carries the log (e.g. "address already in use").
    throw exitedEarly ? err : new Error(`${err instanceof Error ? err.message : String(err)}; its log:\n${log}`);
  }
  return child;
}

async function waitUntilReady(url: string, deadline: number): Promise<void> {
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus at ${url} was not ready within ${START_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}



function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

