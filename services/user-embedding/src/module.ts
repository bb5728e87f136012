import { Subjects, type BusSubscription, type ServiceDeps, type ServiceModule } from '@ralm/platform';
import { artifactDir, loadServingModel, newestModelDir } from './adapters/model-loader';
import type { UserEmbeddingConfig } from './config';
import type { LoadedModel, ModelSlot, UserEmbeddingDeps } from './ports';
import { USER_EMBEDDING_PROTO, userEmbeddingBinding } from './server';

export interface UserEmbeddingModule extends ServiceModule {
  readonly deps: UserEmbeddingDeps;
}

export function createUserEmbedding(config: UserEmbeddingConfig, platform: ServiceDeps): UserEmbeddingModule {
  // Replaced whole by one assignment: a handler that read `current()` keeps one version to the end of its reply.
  let loaded: LoadedModel | undefined;
  const model: ModelSlot = { current: () => loaded };
  const deps: UserEmbeddingDeps = { config, model };
  const logger = platform.logger;
  let subscription: BusSubscription | undefined;
  // Loads run one after another, so an older publish finishing late never replaces a newer model.
  let loading: Promise<void> = Promise.resolve();
  const load = (dir: string, why: string) =>
    (loading = loading.then(async () => {
      const started = performance.now();
      const next = await loadServingModel(dir);
      loaded = next;
      logger.info({ modelVersion: next.version, users: next.rows.size, why, ms: Math.round(performance.now() - started) }, 'model loaded');
    }));
  return {
    deps,
    bindings: [userEmbeddingBinding(deps)],
    protoFiles: [USER_EMBEDDING_PROTO],
    async start() {
      const newest = await newestModelDir(config.MODEL_ROOT, logger);
      if (newest) await load(newest, 'newest in MODEL_ROOT');
      else logger.info({ modelRoot: config.MODEL_ROOT }, 'no model yet; waiting for ralm.v1.model.published');
      subscription = await platform.bus.subscribe(
        Subjects.modelPublished,
        async (event) => {
          if (loaded?.version === event.modelVersion) return;
          // A model that fails to load is logged and skipped: retrying cannot repair its files, and the previous model keeps serving.
          await load(artifactDir(event.artifactUri), 'model.published').catch((err: unknown) =>
            logger.error({ err, modelVersion: event.modelVersion, artifactUri: event.artifactUri }, 'published model not loaded; keeping the current one'),
          );
        },
        { durable: config.MODELS_DURABLE, deliverPolicy: 'new' },
      );
    },
    async stop() {
      await subscription?.stop();
    },
  };
}
