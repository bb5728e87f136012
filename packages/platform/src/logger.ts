import pino, { type Logger } from 'pino';

export type { Logger };

/** One JSON logger per service, `service` on every line so mesh logs can be merged. */
export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
