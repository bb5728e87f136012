import { startTracing } from '@ralm/platform/tracing';

/** Imported first by main.ts so instrumentation patches grpc and nats before they load. */
export const tracing = startTracing('clusterer');
