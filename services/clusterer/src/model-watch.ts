import type { Logger } from '@ralm/platform';
import type { ClustererDeps } from './ports';

/** How often a published model not served yet is asked about again. */
const EXPECT_POLL_MS = 200;

/**
 * Which model the clusterer clusters with: the one UserEmbedding serves, as it says
 * (GetModel), never a guess from the order of events. `model.published` only tells it
 * to ask sooner: user-embedding loads the same event, and may be seconds behind.
 * Pinned (MODEL_VERSION), the version is fixed and asking only tells whether it is
 * served yet. The answer goes into `tracker.modelVersion`, which plans the work: a
 * change there makes every clustering of another version due ('model').
 */
export class ModelWatch {
  private timer: NodeJS.Timeout | undefined;
  private expected: { version: string; until: number; timer: NodeJS.Timeout } | undefined;
  private asking: Promise<string | undefined> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ClustererDeps,
    private readonly logger: Logger,
    /** The tracker's model changed: new work is due. */
    private readonly onChange: () => void,
  ) {
    if (deps.config.MODEL_VERSION) deps.tracker.modelVersion = deps.config.MODEL_VERSION;
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.deps.config.MODEL_PROBE_INTERVAL_MS);
    this.timer.unref();
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.expected?.timer);
  }

  /** Asks UserEmbedding now (one question at a time) and follows its answer; resolves to the served version, if any. */
  refresh(): Promise<string | undefined> {
    return (this.asking ??= this.ask().finally(() => (this.asking = undefined)));
  }

  /** `model.published`: asks until UserEmbedding serves `version` (or MODEL_WAIT_SECONDS pass). */
  published(version: string): void {
    const { config, tracker } = this.deps;
    if (config.MODEL_VERSION || version === tracker.modelVersion || this.stopped) return;
    clearTimeout(this.expected?.timer);
    const until = this.deps.now() + config.MODEL_WAIT_SECONDS * 1000;
    const poll = async () => {
      const served = await this.refresh();
      if (this.stopped || this.expected?.version !== version) return;
      if (served === version) {
        this.expected = undefined;
        return;
      }
      if (this.deps.now() >= until) {
        this.logger.error({ published: version, served: served ?? null, waitedSeconds: config.MODEL_WAIT_SECONDS }, 'user-embedding does not serve the published model; clustering goes on with the model it serves');
        this.expected = undefined;
        return;
      }
      this.expected.timer = setTimeout(() => void poll(), EXPECT_POLL_MS);
      this.expected.timer.unref();
    };
    this.expected = { version, until, timer: setTimeout(() => void poll(), 0) };
    this.expected.timer.unref();
  }

  private async ask(): Promise<string | undefined> {
    const { config, tracker } = this.deps;
    let served: string | undefined;
    try {
      served = await this.deps.embeddings.model();
    } catch (err) {
      this.logger.warn({ err }, 'user-embedding not reachable for its model version; asked again later');
      return undefined;
    }
    this.deps.metrics.servedModel(served);
    if (config.MODEL_VERSION || served === undefined || served === tracker.modelVersion) return served;
    this.logger.info({ from: tracker.modelVersion ?? null, to: served }, 'user-embedding serves a new model; every candidate is re-clustered with it');
    tracker.modelVersion = served;
    this.onChange();
    return served;
  }
}
