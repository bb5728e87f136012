import { z } from 'zod';
import { experimentConfigShape } from '@ralm/experiment';
import { commonConfigShape, ConfigError, env, loadConfig, lookalikeRulesShape } from '@ralm/platform';

/** Slots of the A/B window at most: a week of hours, or a day of 10-minute slots and then some. */
const MAX_AB_SLOTS = 168;

const schema = z.object({
  ...commonConfigShape,
  // SERVABLE_MIN_SEEDS is reported in GetSeedStats and marks the click that makes a candidate servable.
  ...lookalikeRulesShape,
  /** Most distinct clickers kept per candidate, the latest ones (paper: 3,000,000). */
  SEED_CAP: env.positiveInt(3_000_000),
  /**
   * Most candidates active at once (each may hold SEED_CAP seeds): a registration beyond
   * it is refused with RESOURCE_EXHAUSTED until some retire or expire.
   */
  MAX_ACTIVE_CANDIDATES: env.positiveInt(100_000),
  /** Event ids remembered for idempotence beyond the bus's own duplicate window; ~100 bytes each. */
  DEDUPE_CAP: env.positiveInt(2_000_000),
  /** Allowed clock skew: clicks stamped further in the future are rejected. */
  CLICK_MAX_FUTURE_SKEW_SECONDS: env.nonNegativeInt(300),
  /** Click window: older clicks are rejected. */
  CLICK_MAX_AGE_SECONDS: env.positiveInt(30 * 24 * 3600),
  /** How often changed candidates are announced on `ralm.v1.seeds.updated` (one message per candidate per period). */
  SEEDS_UPDATED_INTERVAL_MS: env.positiveInt(1000),
  /** Seconds between seed-book snapshots (taken only when clicks were applied since the last one). A restart replays the clicks since. */
  SNAPSHOT_INTERVAL_SECONDS: env.positiveInt(30),
  /** An active candidate with no click for this long (since its last click or registration) expires; 0 = never. */
  CANDIDATE_IDLE_EXPIRY_SECONDS: env.nonNegativeInt(7 * 24 * 3600),
  /** How often idle candidates are looked for. */
  EXPIRY_CHECK_INTERVAL_SECONDS: env.positiveInt(60),
  /** Durable consumer name on `ralm.v1.click.recorded`; replicas of one deployment share it. */
  CLICKS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('seed-collector'),
  /**
   * Partitions of the candidates (partition/index.ts): fixed for the life of the stream. 1 keeps
   * the single-collector layout (subject, consumer and store keys as before).
   */
  SEED_PARTITIONS: env.positiveInt(1),
  /** Replicas sharing the partitions (a StatefulSet's replicas); partition k belongs to replica k mod SEED_REPLICAS. */
  SEED_REPLICAS: env.positiveInt(1),
  /** This replica's ordinal; default: the number ending HOSTNAME (a StatefulSet pod `…-2` is 2), else 0. */
  SEED_ORDINAL: z.coerce.number().int().nonnegative().optional(),
  // The A/B measurement (FeedbackService; docs/AB-TESTING.md).
  ...experimentConfigShape,
  /** Length of the sliding window the A/B measures cover (a whole number of slots). */
  AB_WINDOW_SECONDS: env.positiveInt(24 * 3600),
  /** Step of the window's slide. */
  AB_SLOT_SECONDS: env.positiveInt(3600),
  /** Users per arm tracked for diversity (a hash sample past this). */
  AB_MAX_USERS: env.positiveInt(20_000),
  /** Items per arm tracked for the Gini (a hash sample past this). */
  AB_MAX_ITEMS: env.positiveInt(20_000),
  /** Feedback event ids remembered to drop repeats the bus's own duplicate window no longer catches; ~120 bytes each. */
  AB_DEDUPE_CAP: env.positiveInt(500_000),
  /** Durable consumer name on `ralm.v1.feedback.recorded`; repositioned to the window's start at every start. */
  AB_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('seed-collector-ab'),
}).superRefine((c, ctx) => {
  if (c.SEED_REPLICAS > c.SEED_PARTITIONS) ctx.addIssue({ code: 'custom', path: ['SEED_REPLICAS'], message: `is ${c.SEED_REPLICAS}, more than SEED_PARTITIONS (${c.SEED_PARTITIONS}): a replica would own nothing` });
  if (c.SEED_ORDINAL !== undefined && c.SEED_ORDINAL >= c.SEED_REPLICAS) ctx.addIssue({ code: 'custom', path: ['SEED_ORDINAL'], message: `must be below SEED_REPLICAS (${c.SEED_REPLICAS})` });
  // Each slot holds a 16 KiB sketch per arm: a window of thousands of slots would be a memory bomb.
  const slots = c.AB_WINDOW_SECONDS / c.AB_SLOT_SECONDS;
  if (!Number.isInteger(slots)) ctx.addIssue({ code: 'custom', path: ['AB_WINDOW_SECONDS'], message: `must be a whole number of AB_SLOT_SECONDS (${c.AB_SLOT_SECONDS})` });
  else if (slots > MAX_AB_SLOTS) ctx.addIssue({ code: 'custom', path: ['AB_SLOT_SECONDS'], message: `makes ${slots} slots of the window; at most ${MAX_AB_SLOTS}` });
});

export type SeedCollectorConfig = z.output<typeof schema>;

export function loadSeedCollectorConfig(environment: NodeJS.ProcessEnv): SeedCollectorConfig {
  const config = loadConfig(schema, environment);
  if (config.SEED_ORDINAL !== undefined || config.SEED_REPLICAS === 1) return { ...config, SEED_ORDINAL: config.SEED_ORDINAL ?? 0 };
  const match = /-(\d+)$/.exec(environment['HOSTNAME'] ?? '');
  const ordinal = match ? Number(match[1]) : NaN;
  if (!(ordinal < config.SEED_REPLICAS)) throw new ConfigError('SEED_ORDINAL', `is unset and HOSTNAME '${environment['HOSTNAME'] ?? ''}' ends in no ordinal below SEED_REPLICAS (${config.SEED_REPLICAS})`);
  return { ...config, SEED_ORDINAL: ordinal };
}
