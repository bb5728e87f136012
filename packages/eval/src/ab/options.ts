import { CONTROL_ARM, experimentConfigShape, parseArms, type Arm } from '@ralm/experiment';

/** The arm that gets look-alike extension slots; the other arm is `control`. */
export const TREATMENT_ARM = 'treatment';

/** Everything the A/B simulator can be told, with its defaults filled in (`resolveAbOptions`). */
export interface AbSimOptions {
  /**
   * Held-out days to replay: the last `days` UTC days of the data. Undefined: from the
   * `ralm eval` time split's cutoff (about the last 20% of events) to the end, in 24-hour days.
   */
  days?: number;
  /** Share of each treatment user's impressions, in [0, 1], given to look-alike long-tail items. Default 0.2. */
  extensionShare: number;
  /** Distinct clickers (seeds) a long-tail item needs before it is extended, ≥ 1. Default 10. */
  minSeeds: number;
  /** Share of items, in (0, 1), that make up the popularity head (most clicked so far); the rest is the long tail. Default 0.2. */
  headShare: number;
  /** Lowest look-alike score (α·cos_glb + β·cos_loc, in [−(α+β), α+β]) an extension needs. Default 0.5. */
  threshold: number;
  /** Probability, in [0, 1), that a click grants one more impression the same day. Default 0.3. */
  engagement: number;
  /** Bootstrap replicates for the confidence intervals, ≥ 10. Default 200. */
  bootstrap: number;
  /** Seeds every random draw (clicks, engagement, k-means, bootstrap). Default 1. */
  seed: number;
  /** Salt of the arm assignment (`ArmAssigner`). Default: the live experiment's default EXPERIMENT_SALT, so the simulated arms are the users the live test would put there. */
  salt: string;
  /** Arms and weights, `name:weight,…`: exactly `control` and `treatment`. Default: the live experiment's default EXPERIMENT_ARMS. */
  arms: string;
}

export const DEFAULT_AB_OPTIONS: Readonly<AbSimOptions> = {
  extensionShare: 0.2,
  minSeeds: 10,
  headShare: 0.2,
  threshold: 0.5,
  engagement: 0.3,
  bootstrap: 200,
  seed: 1,
  salt: experimentConfigShape.EXPERIMENT_SALT.parse(undefined),
  arms: `${CONTROL_ARM}:50,${TREATMENT_ARM}:50`,
};

/** An option outside its range; `option` is the AbSimOptions key at fault. */
export class AbOptionError extends Error {
  constructor(
    readonly option: keyof AbSimOptions,
    readonly problem: string,
  ) {
    super(`${option} ${problem}`);
    this.name = 'AbOptionError';
  }
}

/**
 * Fills defaults and checks every option.
 * @throws AbOptionError naming the first option out of range
 */
export function resolveAbOptions(input: Partial<AbSimOptions>): AbSimOptions {
  const o: AbSimOptions = { ...DEFAULT_AB_OPTIONS, days: input.days };
  // Only the simulator's own keys: callers pass their wider option bags.
  for (const key of Object.keys(DEFAULT_AB_OPTIONS) as Array<keyof AbSimOptions>) if (input[key] !== undefined) Object.assign(o, { [key]: input[key] });
  const check = (option: keyof AbSimOptions, ok: boolean, problem: string) => {
    if (!ok) throw new AbOptionError(option, `${problem}, got ${o[option]}`);
  };
  const int = (v: number | undefined, lo: number) => Number.isSafeInteger(v) && v! >= lo;
  if (o.days !== undefined) check('days', int(o.days, 1), 'must be a positive integer');
  check('extensionShare', o.extensionShare >= 0 && o.extensionShare <= 1, 'must be in [0, 1]');
  check('minSeeds', int(o.minSeeds, 1), 'must be a positive integer');
  check('headShare', o.headShare > 0 && o.headShare < 1, 'must be in (0, 1)');
  check('threshold', Number.isFinite(o.threshold), 'must be a number');
  check('engagement', o.engagement >= 0 && o.engagement < 1, 'must be in [0, 1)');
  check('bootstrap', int(o.bootstrap, 10), 'must be an integer ≥ 10');
  check('seed', int(o.seed, 0), 'must be a non-negative integer');
  check('salt', typeof o.salt === 'string' && o.salt.length > 0, 'must be a non-empty string');
  armsOf(o.arms);
  return o;
}

/**
 * The arms of `spec`, which must be exactly control and treatment (any weights).
 * @throws AbOptionError for anything else
 */
export function armsOf(spec: string): Arm[] {
  let arms: Arm[];
  try {
    arms = parseArms(spec);
  } catch (err) {
    throw new AbOptionError('arms', (err as Error).message.replace(/^experiment arms: /, ''));
  }
  const names = arms.map((a) => a.name).sort();
  if (names.length !== 2 || names[0] !== CONTROL_ARM || names[1] !== TREATMENT_ARM) {
    throw new AbOptionError('arms', `must name exactly the arms ${CONTROL_ARM} and ${TREATMENT_ARM}, got '${spec}'`);
  }
  return arms;
}
