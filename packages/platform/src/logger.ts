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

// Enough to cover any one line's ids; a longer list is counted, not scanned for.
const MAX_SCRUBBED_IDS = 1000;

/** The ids a line names: its IDENTITY_FIELDS, and those its errors say they quote (RalmError.ids). */
function idsOf(fields: Record<string, unknown>): string[] {
  const ids: string[] = [];
  const fromError = (value: unknown, depth: number) => {
    if (depth > 3 || value === null || typeof value !== 'object') return;
    const quoted = (value as { ids?: unknown }).ids;
    if (Array.isArray(quoted)) for (const id of quoted) if (typeof id === 'string') ids.push(id);
    fromError((value as { cause?: unknown }).cause, depth + 1);
  };
  for (const [key, value] of Object.entries(fields)) {
    if (IDENTITY_FIELDS.has(key)) {
      if (Array.isArray(value)) ids.push(...value.slice(0, MAX_SCRUBBED_IDS).map(String));
      else if (value !== undefined && value !== null) ids.push(String(value));
    } else fromError(value, 0);
  }
  // Longest first, so an id that contains another is replaced whole.
  return [...new Set(ids)].filter((id) => id.length > 0).sort((a, b) => b.length - a.length);
}

function scrub(text: string, ids: readonly string[]): string {
  let out = text;
  for (const id of ids) if (out.includes(id)) out = out.split(id).join(idTag(id));
  return out;
}

/**
 * A copy of an error with its texts scrubbed, of the same class (so pino's serializer names
 * its type) and without the original's own fields (a NotFoundError's `id`) or its cause.
 */
function scrubbedError(err: Error & { code?: unknown }, ids: readonly string[]): Error {
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error & { code?: unknown };
  Object.defineProperty(copy, 'message', { value: scrub(err.message, ids), enumerable: true });
  if (err.stack) Object.defineProperty(copy, 'stack', { value: scrub(err.stack, ids), enumerable: true });
  if (err.code !== undefined) Object.defineProperty(copy, 'code', { value: err.code, enumerable: true });
  return copy;
}

function redactIdentities(fields: Record<string, unknown>, ids: readonly string[]): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    let replaced: unknown = value;
    if (IDENTITY_FIELDS.has(key)) replaced = Array.isArray(value) ? `${value.length} ids` : idTag(value);
    else if (ids.length === 0) continue;
    else if (typeof value === 'string') replaced = scrub(value, ids);
    else if (value instanceof Error) replaced = scrubbedError(value, ids);
    else if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
      const { ids: _quoted, ...rest } = value as { ids?: unknown; message: string };
      replaced = { ...rest, message: scrub(rest.message, ids) };
    }
    if (replaced === value) continue;
    copy ??= { ...fields };
    copy[key] = replaced;
  }
  return copy ?? fields;
}

/**
 * One JSON logger per service, `service` on every line so mesh logs can be merged.
 * Lines at info and above carry no user, item or event id (IDENTITY_FIELDS become
 * keyed tags, and those ids, with the ids an error says it quotes, are replaced by the
 * same tags in every text of the line: error messages and stacks, other fields, the
 * message), whatever the call site passed: logs are shipped and kept where ids must
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
          const fields = first as Record<string, unknown>;
          const ids = idsOf(fields);
          const text = rest.map((r) => (typeof r === 'string' ? scrub(r, ids) : r));
          return method.apply(this, [redactIdentities(fields, ids), ...text] as Parameters<typeof method>);
        }
        if (lineLevel >= 30 && first instanceof Error) {
          const ids = idsOf({ err: first });
          if (ids.length > 0) return method.apply(this, [{ err: scrubbedError(first, ids) }, ...rest.map((r) => (typeof r === 'string' ? scrub(r, ids) : r))] as Parameters<typeof method>);
        }
        return method.apply(this, args);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
