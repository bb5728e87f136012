import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** `seed-collector` → `ralm_seed_collector`: the prefix of every metric a service owns. */
export function metricPrefix(service: string): string {
  return `ralm_${service.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

export interface RpcMetrics {
  /** Seconds from the call's arrival to its status, by method and status code. */
  duration: Histogram<'method' | 'code'>;
  /** Calls that ended with a status other than OK, by method and status code. */
  errors: Counter<'method' | 'code'>;
  /** Calls turned away or skipped by admission control, by method and reason (queue_full, would_miss_deadline, expired_in_queue, cancelled_in_queue). */
  shed: Counter<'method' | 'reason'>;
  /** Units (calls, or a method's cost unit) running now, by method. */
  running: Gauge<'method'>;
  /** Units waiting for a turn now, by method. */
  queued: Gauge<'method'>;
}

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly prefix: string;
  readonly rpc: RpcMetrics;
}

/** One registry per service (never the global one), so services sharing a process stay apart. */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // These three gauges end in _total, which `promtool check metrics` rejects for
  // non-counters; the per-type gauges without the suffix carry the same counts.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const prefix = metricPrefix(service);
  const rpc: RpcMetrics = {
    duration: new Histogram({
      name: `${prefix}_rpc_duration_seconds`,
      help: 'gRPC call latency from arrival to status, in seconds.',
      labelNames: ['method', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: `${prefix}_rpc_errors_total`,
      help: 'gRPC calls that ended with a non-OK status.',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    shed: new Counter({
      name: `${prefix}_rpc_shed_total`,
      help: 'gRPC calls admission control refused (queue_full, would_miss_deadline) or skipped because the caller left while it waited (expired_in_queue, cancelled_in_queue); none of them ran.',
      labelNames: ['method', 'reason'],
      registers: [registry],
    }),
    running: new Gauge({
      name: `${prefix}_rpc_running_units`,
      help: "Units of a method running now (calls, or the method's cost unit such as users for ScoreBatch).",
      labelNames: ['method'],
      registers: [registry],
    }),
    queued: new Gauge({
      name: `${prefix}_rpc_queued_units`,
      help: 'Units of a method waiting for a turn now.',
      labelNames: ['method'],
      registers: [registry],
    }),
  };
  return { registry, prefix, rpc };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` in Prometheus text exposition format. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(err)}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
