import crypto from 'node:crypto';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Fields that name a user, an item or an event. Logged as they are only at debug and trace. */
export const IDENTITY_FIELDS: ReadonlySet<string> = new Set(['userId', 'userIds', 'candidateId', 'candidateIds', 'itemId', 'eventId', 'eventIds', 'seedUserIds']);

// Per process: the same id gives the same tag within a process (one candidate's repeated
// failures can be followed), and a tag cannot be matched against a list of known ids.
const KEY = crypto.randomBytes(16);

/** A short keyed tag standing for an id in logs at info and above. */
export function idTag(id: unknown): string {
  return `id:${crypto.createHmac('sha256', KEY).update(String(id)).digest('hex').slice(0, 10)}`;
}

function redactIdentities(fields: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (!IDENTITY_FIELDS.has(key)) continue;
    copy ??= { ...fields };
    const value = fields[key];
    copy[key] = Array.isArray(value) ? `${value.length} ids` : idTag(value);
  }
  return copy ?? fields;
}

/**
 * One JSON logger per service, `service` on every line so mesh logs can be merged.
 * Lines at info and above carry no user, item or event id (IDENTITY_FIELDS become
 * keyed tags), whatever the call site passed: logs are shipped and kept where ids must
 * not be. Debug and trace lines keep them, for an operator who turns them on.
 */
export function createLogger(service: string, level: string = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      logMethod(args, method, lineLevel) {
        const [first, ...rest] = args as unknown[];
        if (lineLevel >= 30 && first !== null && typeof first === 'object' && !(first instanceof Error)) {
          return method.apply(this, [redactIdentities(first as Record<string, unknown>), ...rest] as Parameters<typeof method>);
        }
        return method.apply(this, args);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
