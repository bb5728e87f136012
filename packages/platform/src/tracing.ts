/**
 * OpenTelemetry bootstrap. Import this module (and call startTracing) before
 * anything loads @grpc/grpc-js or nats, or their calls will not be traced.
 * It must not import the rest of the platform for that reason.
 *
 * Configured only through the standard OTEL_* variables, which the SDK reads
 * itself. With no exporter endpoint set no span processor is installed, so
 * nothing is buffered or exported and shutdown is instant.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';

export interface Tracing {
  /** True when spans leave the process (an OTLP endpoint or an explicit exporter is configured). */
  readonly exporting: boolean;
  /** Flushes and stops the SDK. */
  shutdown(): Promise<void>;
}

/** True when the OTEL_* variables ask for spans to leave the process. */
export function wantsExport(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return Boolean(exporter || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let active: Tracing | undefined;

/** Starts the SDK once per process; later calls return the first instance. */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  if (active) return active;
  const exporting = wantsExport(env);
  if (!exporting) {
    active = { exporting, shutdown: async () => {} };
    return active;
  }
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    instrumentations: [new GrpcInstrumentation()],
    // Metrics go through prom-client and logs through pino; only traces use OTel.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  active = { exporting, shutdown: () => sdk.shutdown() };
  return active;
}
