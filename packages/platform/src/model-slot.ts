import type { Logger } from 'pino';
import type { BusSubscription, EventBus } from './bus/port';
import { Subjects } from './events';

/**
 * The current model of a serving service, replaced whole by one assignment when
 * a new version is published: a handler that read `current()` keeps that version
 * to the end of its reply, so no reply mixes versions.
 */
export interface ModelSlot<M extends { version: string }> {
  current(): M | undefined;
  /**
   * Resolves when the model loaded at start (if any) is in place and the subscription runs.
   * Rejects with PinnedModelError when a pinned version cannot be loaded.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ModelSlotOptions<M extends { version: string }> {
  bus: EventBus;
  logger: Logger;
  /** Durable name on `ralm.v1.model.published`; give each replica its own so each loads every model. */
  durable: string;
  /**
   * Seconds the durable is kept with no subscription (`SubscribeOptions.inactiveAfterSeconds`):
   * set it with per-replica durable names, whose pods come and go. Unset or 0: kept forever.
   */
  inactiveAfterSeconds?: number;
  /** Loads the model at a location (a directory, or a published `artifact_uri`). */
  load(location: string): Promise<M>;
  /** Where the model to serve at start is when not pinned, if any (e.g. the newest under MODEL_ROOT). */
  initial(): Promise<string | undefined>;
  /** Where the model of version `version` is (e.g. `<MODEL_ROOT>/<version>`); how `pinned` is found. */
  locate(version: string): string;
  /**
   * Serve exactly this model version and no other: `locate(pinned)` is loaded at start,
   * which fails if that does not load, and `model.published` for any other version is
   * ignored (logged once per version). Unset or empty: serve the newest at start and
   * swap to each published model.
   */
  pinned?: string | undefined;
  /** Called after each swap (e.g. to rebuild what depends on the model). */
  onSwap?(next: M, previous: M | undefined): void | Promise<void>;
}

/**
 * The pinned model version cannot be served: its files are missing or do not load,
 * or they hold another version. The service must not start without it, so it never
 * reports SERVING with no model or with a version the operator did not choose.
 */
export class PinnedModelError extends Error {
  readonly code = 'PINNED_MODEL_NOT_LOADED';
  constructor(
    readonly version: string,
    readonly location: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`pinned model version '${version}' not loaded from ${location}: ${reason}`, options);
    this.name = 'PinnedModelError';
  }
}

export function createModelSlot<M extends { version: string }>(options: ModelSlotOptions<M>): ModelSlot<M> {
  const { logger } = options;
  const pinned = options.pinned || undefined;
  let loaded: M | undefined;
  let subscription: BusSubscription | undefined;
  const skipped = new Set<string>();
  // Loads run one after another, so an older publish finishing late never replaces a newer model.
  let loading: Promise<void> = Promise.resolve();
  const swap = async (next: M, why: string, started: number) => {
    const previous = loaded;
    loaded = next;
    await options.onSwap?.(next, previous);
    logger.info({ modelVersion: next.version, why, ms: Math.round(performance.now() - started) }, 'model loaded');
  };
  // Loads run one at a time; one that failed must not stop the next (a rejected chain
  // skipped every later load: one bad announcement froze the model for good).
  const load = (location: string, why: string) =>
    (loading = loading.catch(() => undefined).then(async () => {
      const started = performance.now();
      await swap(await options.load(location), why, started);
    }));
  const loadPinned = async (version: string) => {
    const location = options.locate(version);
    const started = performance.now();
    const next = await options.load(location).catch((err: unknown) => {
      throw new PinnedModelError(version, location, err instanceof Error ? err.message : String(err), { cause: err });
    });
    // Versions are compared by name on model.published: a directory holding another version would be served under a false pin.
    if (next.version !== version) throw new PinnedModelError(version, location, `it holds version '${next.version}'`);
    await swap(next, 'pinned', started);
  };
  return {
    current: () => loaded,
    async start() {
      if (pinned) {
        await loadPinned(pinned);
      } else {
        const first = await options.initial();
        if (first) await load(first, 'newest at start');
        else logger.info('no model yet; waiting for ralm.v1.model.published');
      }
      subscription = await options.bus.subscribe(
        Subjects.modelPublished,
        async (event) => {
          if (loaded?.version === event.modelVersion) return;
          if (pinned) {
            if (!skipped.has(event.modelVersion)) {
              skipped.add(event.modelVersion);
              logger.info({ pinned, modelVersion: event.modelVersion }, `pinned to ${pinned}; not loading ${event.modelVersion}`);
            }
            return;
          }
          // A model that fails to load is logged and skipped: retrying cannot repair its files, and the previous model keeps serving.
          await load(event.artifactUri, 'model.published').catch((err: unknown) =>
            logger.error({ err, modelVersion: event.modelVersion, artifactUri: event.artifactUri }, 'published model not loaded; keeping the current one'),
          );
        },
        { durable: options.durable, deliverPolicy: 'new', inactiveAfterSeconds: options.inactiveAfterSeconds },
      );
    },
    async stop() {
      await subscription?.stop();
      await loading.catch(() => undefined);
    },
  };
}
