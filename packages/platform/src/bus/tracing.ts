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
const headerGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    if (key in carrier) return carrier[key];
    const lower = key.toLowerCase();
    for (const k of Object.keys(carrier)) if (k.toLowerCase() === lower) return carrier[k];
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
  const parent = propagation.extract(ROOT_CONTEXT, delivery.headers, headerGetter);
  const msgId = delivery.headers[MSG_ID_HEADER];
  const attributes = {
    'messaging.system': info.system,
    'messaging.operation.type': 'process',
    'messaging.destination.name': delivery.subject,
    'messaging.consumer.group.name': info.durable,
    'ralm.bus.delivery_count': delivery.deliveryCount,
    ...(msgId === undefined ? {} : { 'messaging.message.id': msgId }),
  };
  return tracer.startActiveSpan(`${delivery.subject} process`, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      await fn();
    } catch (err) {
      if (span.isRecording()) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}
