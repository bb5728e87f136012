/**
 * Stable assignment of users to experiment arms.
 *
 * bucket(u) = the first 4 bytes of SHA-256(`${salt}:${userId}`), big-endian, / 2^32,
 * a number in [0, 1); arm i takes buckets in [s_0 + … + s_{i−1}, s_0 + … + s_i) of the
 * normalised shares. SHA-256 rather than a faster hash because upstream systems in any
 * language can reproduce it from this one line, and assignment must agree everywhere.
 * A new salt reshuffles everybody; the same salt and shares never move a user.
 */
import { createHash } from 'node:crypto';

export interface Arm {
  /** [a-z0-9_]{1,32}: it becomes a Prometheus label value and a gRPC field. */
  readonly name: string;
  /** Share of traffic, normalised so the arms' shares sum to 1. */
  readonly share: number;
}

export interface ExperimentConfig {
  /** Names the experiment in replies and dashboards. */
  readonly id: string;
  /** Mixed into the hash; change it to re-randomise. */
  readonly salt: string;
  readonly arms: readonly Arm[];
}

/** The arm every lift is measured against; every experiment has one (the recording rules name it). */
export const CONTROL_ARM = 'control';

const ARM_NAME = /^[a-z0-9_]{1,32}$/;

/**
 * Parses `name:weight,name:weight,…` (weights are relative: `control:1,treatment:1`
 * and `control:50,treatment:50` are the same split). One arm must be `control`.
 * @throws RangeError naming what is wrong
 */
export function parseArms(spec: string): Arm[] {
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length < 1) throw new RangeError('experiment arms: expected name:weight[,name:weight…], got nothing');
  const raw = parts.map((part) => {
    const m = /^([^:]+):\s*([0-9]*\.?[0-9]+)$/.exec(part);
    if (!m) throw new RangeError(`experiment arms: '${part}' is not name:weight`);
    const name = m[1]!.trim();
    if (!ARM_NAME.test(name)) throw new RangeError(`experiment arms: arm name '${name}' must match ${ARM_NAME.source}`);
    return { name, weight: Number(m[2]) };
  });
  const names = new Set(raw.map((a) => a.name));
  if (names.size !== raw.length) throw new RangeError(`experiment arms: duplicate arm name in '${spec}'`);
  // An arm of weight 0 would get nobody: its measures and every lift against it would be NaN.
  const empty = raw.find((a) => !(a.weight > 0));
  if (empty) throw new RangeError(`experiment arms: arm '${empty.name}' has weight 0; remove it instead`);
  const total = raw.reduce((sum, a) => sum + a.weight, 0);
  if (!names.has(CONTROL_ARM)) throw new RangeError(`experiment arms: one arm must be named '${CONTROL_ARM}' (lifts are measured against it), got '${spec}'`);
  return raw.map((a) => ({ name: a.name, share: a.weight / total }));
}

/** The user's position in [0, 1), a pure function of salt and user id. */
export function bucketOf(salt: string, userId: string): number {
  const digest = createHash('sha256').update(`${salt}:${userId}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export class ArmAssigner {
  private readonly bounds: Float64Array;

  constructor(readonly config: ExperimentConfig) {
    if (config.arms.length === 0) throw new RangeError('an experiment needs at least one arm');
    if (!config.arms.some((a) => a.name === CONTROL_ARM)) throw new RangeError(`an experiment needs an arm named '${CONTROL_ARM}'`);
    this.bounds = new Float64Array(config.arms.length);
    let acc = 0;
    config.arms.forEach((arm, i) => (this.bounds[i] = acc += arm.share));
    // Rounding must never leave a sliver of buckets without an arm.
    this.bounds[this.bounds.length - 1] = Infinity;
  }

  /** The arm of `userId`: the same answer for the same salt and shares, in every process. */
  assign(userId: string): string {
    const b = bucketOf(this.config.salt, userId);
    let i = 0;
    while (b >= this.bounds[i]!) i++;
    return this.config.arms[i]!.name;
  }

  has(arm: string): boolean {
    return this.config.arms.some((a) => a.name === arm);
  }

  get armNames(): string[] {
    return this.config.arms.map((a) => a.name);
  }
}
