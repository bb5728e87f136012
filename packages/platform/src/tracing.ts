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
import { ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as OtlpGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpHttpJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpHttpProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { redactingExporter } from './trace-redaction';

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

/**
 * The exporter OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL name, built
 * here rather than by the SDK so it can be wrapped: the SDK's own would export spans
 * unredacted. The OTLP exporters read their endpoint, headers and TLS from OTEL_* as usual.
 */
export function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter {
  const names = (env.OTEL_TRACES_EXPORTER?.trim() || 'otlp').split(',').map((s) => s.trim());
  const unsupported = names.filter((n) => n !== 'otlp' && n !== 'console');
  if (unsupported.length > 0) throw new Error(`OTEL_TRACES_EXPORTER: ${unsupported.join(', ')} is not supported (otlp or console)`);
  if (names.length > 1) throw new Error(`OTEL_TRACES_EXPORTER: one exporter at a time (got ${names.join(', ')}): every span must pass the redacting exporter`);
  if (names.includes('console')) return new ConsoleSpanExporter();
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol === 'grpc') return new OtlpGrpc();
  if (protocol === 'http/json') return new OtlpHttpJson();
  return new OtlpHttpProto();
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
    traceExporter: redactingExporter(exporterFromEnv(env)),
    // Metrics go through prom-client and logs through pino; only traces use OTel.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  active = { exporting, shutdown: () => sdk.shutdown() };
  return active;
}
