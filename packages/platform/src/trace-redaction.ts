/**
 * Spans leave the process without identities. Instrumentations put what they like on a
 * span — grpc's copies a failed call's status text ("candidate 'c-123' not found"), a
 * recorded exception carries its message and stack — so the exporter, the one door out,
 * keeps only attributes known to hold no user, item or event id, and drops every status
 * and exception text. Imports OpenTelemetry only (tracing.ts loads before everything).
 */
import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Attributes that describe the call, never its subject. Anything else is dropped. */
export const SAFE_SPAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  'rpc.system',
  'rpc.service',
  'rpc.method',
  'rpc.grpc.status_code',
  'net.peer.name',
  'net.peer.port',
  'network.peer.address',
  'network.peer.port',
  'network.transport',
  'server.address',
  'server.port',
  'messaging.system',
  'messaging.operation.type',
  'messaging.destination.name',
  'messaging.consumer.group.name',
  'ralm.bus.delivery_count',
  'exception.type',
]);

function safe(attributes: Attributes): Attributes {
  const kept: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (SAFE_SPAN_ATTRIBUTES.has(key)) kept[key] = value;
  return kept;
}

/** The span as it may be exported: safe attributes, status without its text, events without their texts. */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  // A view over the original (its methods, its context), with the three fields replaced.
  return Object.create(span, {
    attributes: { value: safe(span.attributes), enumerable: true },
    status: { value: { code: span.status.code }, enumerable: true },
    events: { value: span.events.map((e) => ({ ...e, attributes: e.attributes && safe(e.attributes) })), enumerable: true },
  }) as ReadableSpan;
}

/** Wraps the configured exporter so every span is redacted on its way out. */
export function redactingExporter(inner: SpanExporter): SpanExporter {
  return {
    export: (spans, done) => inner.export(spans.map(redactSpan), done),
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}
