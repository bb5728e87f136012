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
  /** Resolves when the model loaded at start (if any) is in place and the subscription runs. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ModelSlotOptions<M extends { version: string }> {
  bus: EventBus;
  logger: Logger;
  /** Durable name on `ralm.v1.model.published`; give each replica its own so each loads every model. */
  durable: string;
  /** Loads the model at a location (a directory, or a published `artifact_uri`). */
  load(location: string): Promise<M>;
  /** Where the model to serve at start is, if any (e.g. the newest under MODEL_ROOT). */
  initial(): Promise<string | undefined>;
  /** Called after each swap (e.g. to rebuild what depends on the model). */
  onSwap?(next: M, previous: M | undefined): void | Promise<void>;
}

export function createModelSlot<M extends { version: string }>(options: ModelSlotOptions<M>): ModelSlot<M> {
  const { logger } = options;
  let loaded: M | undefined;
  let subscription: BusSubscription | undefined;
  // Loads run one after another, so an older publish finishing late never replaces a newer model.
  let loading: Promise<void> = Promise.resolve();
  const load = (location: string, why: string) =>
    (loading = loading.then(async () => {
      const started = performance.now();
      const next = await options.load(location);
      const previous = loaded;
      loaded = next;
      await options.onSwap?.(next, previous);
      logger.info({ modelVersion: next.version, why, ms: Math.round(performance.now() - started) }, 'model loaded');
    }));
  return {
    current: () => loaded,
    async start() {
      const first = await options.initial();
      if (first) await load(first, 'newest at start');
      else logger.info('no model yet; waiting for ralm.v1.model.published');
      subscription = await options.bus.subscribe(
        Subjects.modelPublished,
        async (event) => {
          if (loaded?.version === event.modelVersion) return;
          // A model that fails to load is logged and skipped: retrying cannot repair its files, and the previous model keeps serving.
          await load(event.artifactUri, 'model.published').catch((err: unknown) =>
            logger.error({ err, modelVersion: event.modelVersion, artifactUri: event.artifactUri }, 'published model not loaded; keeping the current one'),
          );
        },
        { durable: options.durable, deliverPolicy: 'new' },
      );
    },
    async stop() {
      await subscription?.stop();
      await loading.catch(() => undefined);
    },
  };
}
