import { startTracing } from '@ralm/platform/tracing';

/**
 * Imported first by main.ts so instrumentation patches grpc and nats before they
 * load: `ralm up` and `ralm demo` run all five services in this one process, so
 * their spans carry this one service name.
 */
export const tracing = startTracing('ralm-mesh');
