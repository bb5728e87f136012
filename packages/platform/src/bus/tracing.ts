/**
 * W3C trace context across the bus: the publisher's context travels in message
 * headers, and each delivery runs in a CONSUMER span whose parent is that context.
 * With no OpenTelemetry SDK registered every call below is a no-op.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter } from '@opentelemetry/api';
import type { Delivery } from './port';

const tracer = trace.getTracer('ralm-bus');

/** Header the bus uses for the idempotency key (JetStream's own name, so both adapters agree). */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Adds the active trace context (e.g. `traceparent`) to `headers`. */
export function injectTraceContext(headers: Record<string, string>): void {
  propagation.inject(context.active(), headers);
}

// NATS keeps header keys as sent, but a foreign publisher may capitalise them.
// The carrier is the delivery, so its headers are decoded only if a propagator reads them.
const headerGetter: TextMapGetter<Delivery> = {
  keys: (carrier) => Object.keys(carrier.headers),
  get(carrier, key) {
    const headers = carrier.headers;
    if (key in headers) return headers[key];
    const lower = key.toLowerCase();
    for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) return headers[k];
    return undefined;
  },
};

export interface ConsumeSpanInfo {
  system: 'memory' | 'nats';
  durable: string;
  delivery: Delivery;
}

/** Runs `fn` in a CONSUMER span parented by the trace context found in the delivery's headers. */
export function withConsumerSpan(info: ConsumeSpanInfo, fn: () => Promise<void>): Promise<void> {
  const { delivery } = info;
  // Parent on ROOT, not the active context: in-process delivery would otherwise
  // inherit whatever async context happened to trigger the dispatch.
  const parent = propagation.extract(ROOT_CONTEXT, delivery, headerGetter);
  const span = tracer.startSpan(`${delivery.subject} process`, { kind: SpanKind.CONSUMER }, parent);
  if (!span.isRecording()) {
    // No SDK (the default): skip the attributes and the context switch, which cost a
    // measurable share of a click's consume path.
    span.end();
    return fn();
  }
  // No message id: for a click it is the caller's event id (docs/SECURITY.md, telemetry).
  span.setAttributes({
    'messaging.system': info.system,
    'messaging.operation.type': 'process',
    'messaging.destination.name': delivery.subject,
    'messaging.consumer.group.name': info.durable,
    'ralm.bus.delivery_count': delivery.deliveryCount,
  });
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      await fn();
    } catch (err) {
      // The type only: an error's text may quote the ids it was about.
      span.recordException({ name: err instanceof Error ? err.name : 'Error', message: '' });
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
