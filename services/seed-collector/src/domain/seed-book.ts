import { FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from '@ralm/platform/errors';
import { idProblem } from '@ralm/platform/validate';
import { RecencySet } from './recency-set';
import { SeedRing } from './seed-ring';
import { UserDictionary } from './user-dictionary';
import type { SnapshotContent } from './snapshot-codec';

/** Why a click was refused; a small fixed set, so it can label a metric. */
export type RejectReason =
  | 'invalid_event_id'
  | 'invalid_user_id'
  | 'invalid_candidate_id'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'timestamp_too_old'
  | 'unknown_candidate'
  | 'retired_candidate';

export interface Click {
  eventId: string;
  userId: string;
  candidateId: string;
  /** Unix milliseconds of the click on the user's device or the upstream server. */
  timestampMs: number;
}

/** RETIRED and EXPIRED are final: the registry never reuses a candidate id. */
export type CandidateState = 'active' | 'retired' | 'expired';

export interface CandidateRecord {
  readonly candidateId: string;
  category: string;
  tags: string[];
  state: CandidateState;
  registeredAtMs: number;
  retiredAtMs: number;
  retiredReason: string;
  lastClickAtMs: number;
  totalClicks: number;
  /** Increments whenever the seed set's membership changes (a user added or evicted); a repeat click only refreshes recency. */
  seedVersion: number;
}

export interface Rejection {
  reason: RejectReason;
  /** Field path inside the click, e.g. `user_id`. */
  field: string;
  message: string;
}

export type ApplyOutcome =
  | { kind: 'applied'; seedCount: number; seedVersion: number; evicted: number }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; rejection: Rejection };

export interface SeedBookOptions {
  /** Most distinct clickers kept per candidate (paper: 3,000,000). */
  seedCap: number;
  /** Most event ids remembered for idempotence; older ids fall out first. */
  dedupeCap: number;
  /** Clicks stamped further than this in the future are refused (clock skew allowance). */
  maxFutureSkewMs: number;
  /** Clicks older than this are refused: they cannot describe a candidate's current audience. */
  maxClickAgeMs: number;
  /**
   * Most candidates active at once; a registration beyond it is refused
   * (RESOURCE_EXHAUSTED) until some retire or expire. Each holds up to seedCap seeds,
   * so an unbounded count is unbounded memory. Default: no limit.
   */
  maxActiveCandidates?: number;
}

/**
 * The user-feedback monitor's state: registered candidates and, per candidate,
 * the latest distinct clickers. Pure: no clock, no I/O; callers pass `nowMs`.
 */
export class SeedBook {
  private readonly candidates = new Map<string, CandidateRecord>();
  /** Per candidate, its seeds as user indices (about 10 bytes each, see SeedRing). */
  private readonly seeds = new Map<string, SeedRing>();
  /** The user ids behind those indices, shared by every candidate. */
  private readonly users = new UserDictionary();
  private readonly dirty = new Set<string>();
  private seenEvents: RecencySet<string>;
  /** Highest click-stream sequence applied (0 = none); recorded in snapshots so a restore replays from the next one. */
  appliedSeq = 0;

  /** Candidates in state 'active'. */
  private active = 0;

  constructor(readonly options: SeedBookOptions) {
    this.seenEvents = new RecencySet(options.dedupeCap);
  }

  /** Registers a candidate, or replaces category and tags of an active one (idempotent). */
  register(candidateId: string, category: string, tags: string[], nowMs: number): { record: CandidateRecord; created: boolean } {
    const existing = this.candidates.get(candidateId);
    if (existing) {
      if (existing.state !== 'active') {
        throw new FailedPreconditionError(`candidate '${candidateId}' is ${existing.state}; candidate ids are never reused`, { ids: [candidateId] });
      }
      existing.category = category;
      existing.tags = [...new Set(tags)];
      return { record: existing, created: false };
    }
    const cap = this.options.maxActiveCandidates;
    if (cap !== undefined && this.active >= cap) {
      throw new ResourceExhaustedError(`${this.active} candidates are active, the most this collector holds (MAX_ACTIVE_CANDIDATES); retire some before registering '${candidateId}'`, { ids: [candidateId] });
    }
    const record: CandidateRecord = {
      candidateId,
      category,
      tags: [...new Set(tags)],
      state: 'active',
      registeredAtMs: nowMs,
      retiredAtMs: 0,
      retiredReason: '',
      lastClickAtMs: 0,
      totalClicks: 0,
      seedVersion: 0,
    };
    this.candidates.set(candidateId, record);
    this.seeds.set(candidateId, new SeedRing(this.options.seedCap));
    this.active++;
    return { record, created: true };
  }

  /** Final: clicks are refused from now on. Retiring an ended candidate changes nothing. */
  retire(candidateId: string, reason: string, nowMs: number, state: 'retired' | 'expired' = 'retired'): CandidateRecord {
    const record = this.get(candidateId);
    if (record.state === 'active') {
      this.active--;
      record.state = state;
      record.retiredAtMs = nowMs;
      record.retiredReason = reason;
    }
    return record;
  }

  get(candidateId: string): CandidateRecord {
    const record = this.candidates.get(candidateId);
    if (!record) throw new NotFoundError('candidate', candidateId);
    return record;
  }

  seedCount(candidateId: string): number {
    return this.seeds.get(candidateId)?.size ?? 0;
  }

  /** Seed user ids, newest first, at most `limit`. */
  newestSeeds(candidateId: string, limit: number): string[] {
    this.get(candidateId);
    return this.seeds.get(candidateId)!.newest(limit).map((u) => this.users.userId(u));
  }

  hasSeen(eventId: string): boolean {
    return this.seenEvents.has(eventId);
  }

  /**
   * Checks a click against the contract and the registry without changing anything.
   * `nowMs` is when the click entered the system (the gRPC call's time, or the
   * bus append time for a consumer), so a late consumer judges it as the edge did.
   */
  check(click: Click, nowMs: number): Rejection | undefined {
    const ids: Array<[keyof Click, string, RejectReason]> = [
      ['eventId', 'event_id', 'invalid_event_id'],
      ['userId', 'user_id', 'invalid_user_id'],
      ['candidateId', 'candidate_id', 'invalid_candidate_id'],
    ];
    for (const [key, field, reason] of ids) {
      const problem = idProblem(click[key] as string);
      if (problem) return { reason, field, message: `${field} ${problem}` };
    }
    const ts = click.timestampMs;
    if (!Number.isSafeInteger(ts) || ts <= 0) {
      return { reason: 'invalid_timestamp', field: 'timestamp_ms', message: `timestamp_ms must be positive unix milliseconds, got ${ts}` };
    }
    if (ts > nowMs + this.options.maxFutureSkewMs) {
      return { reason: 'timestamp_in_future', field: 'timestamp_ms', message: `timestamp_ms ${ts} is ${ts - nowMs} ms in the future` };
    }
    if (ts < nowMs - this.options.maxClickAgeMs) {
      return { reason: 'timestamp_too_old', field: 'timestamp_ms', message: `timestamp_ms ${ts} is older than the ${this.options.maxClickAgeMs} ms click window` };
    }
    // Judged as of `nowMs`, so a replay after a restart reaches the verdicts the first pass reached:
    // a click that entered before its candidate was retired still counts, one before registration never did.
    const record = this.candidates.get(click.candidateId);
    if (!record || nowMs < record.registeredAtMs) {
      return { reason: 'unknown_candidate', field: 'candidate_id', message: `candidate '${click.candidateId}' is not registered` };
    }
    if (record.state !== 'active' && nowMs >= record.retiredAtMs) {
      return { reason: 'retired_candidate', field: 'candidate_id', message: `candidate '${click.candidateId}' is ${record.state}` };
    }
    return undefined;
  }

  /** Applies a click at most once per event id; `nowMs` as for `check`. */
  apply(click: Click, nowMs: number): ApplyOutcome {
    if (this.seenEvents.has(click.eventId)) return { kind: 'duplicate' };
    const rejection = this.check(click, nowMs);
    if (rejection) return { kind: 'rejected', rejection };
    this.seenEvents.addNew(click.eventId);
    const record = this.candidates.get(click.candidateId)!;
    const seeds = this.seeds.get(click.candidateId)!;
    const user = this.users.intern(click.userId);
    const isNew = !seeds.has(user);
    if (isNew) this.users.retain(user);
    const out = seeds.touch(user);
    if (out !== -1) this.users.release(out);
    const evicted = out === -1 ? 0 : 1;
    record.totalClicks += 1;
    if (isNew || evicted > 0) record.seedVersion += 1;
    record.lastClickAtMs = Math.max(record.lastClickAtMs, click.timestampMs);
    this.dirty.add(click.candidateId);
    return { kind: 'applied', seedCount: seeds.size, seedVersion: record.seedVersion, evicted };
  }

  /**
   * Expires active candidates with no click (nor registration) within `idleMs`
   * of `nowMs`. Returns the newly expired records, to persist and announce.
   */
  expireIdle(nowMs: number, idleMs: number): CandidateRecord[] {
    const expired: CandidateRecord[] = [];
    for (const record of this.candidates.values()) {
      if (record.state === 'active' && Math.max(record.registeredAtMs, record.lastClickAtMs) + idleMs <= nowMs) {
        expired.push(this.retire(record.candidateId, `no clicks for ${Math.round(idleMs / 1000)} s`, nowMs, 'expired'));
      }
    }
    return expired;
  }

  /** Every registered candidate (for the registry store and listings). */
  records(): IterableIterator<CandidateRecord> {
    return this.candidates.values();
  }

  /**
   * Loads a candidate registration as persisted (restart). Click-derived fields
   * start empty; a snapshot restore fills them.
   */
  loadRecord(record: CandidateRecord): void {
    // Never refused, even past the cap: a registration already accepted is not lost on a restart.
    if (this.candidates.get(record.candidateId)?.state === 'active') this.active--;
    if (record.state === 'active') this.active++;
    this.candidates.set(record.candidateId, { ...record, tags: [...record.tags], totalClicks: 0, lastClickAtMs: 0, seedVersion: 0 });
    this.replaceSeeds(record.candidateId, new SeedRing(this.options.seedCap));
  }

  /** The click-derived state, with the stream position it reflects. Copies, so the book may move on. */
  snapshot(takenAtMs: number, streamId = ''): SnapshotContent {
    const candidates: SnapshotContent['header']['candidates'] = [];
    const seeds: string[][] = [];
    for (const record of this.candidates.values()) {
      const set = this.seeds.get(record.candidateId)!;
      candidates.push({
        candidateId: record.candidateId,
        totalClicks: record.totalClicks,
        lastClickAtMs: record.lastClickAtMs,
        seedVersion: record.seedVersion,
        seedCount: set.size,
      });
      seeds.push(Array.from(set.oldestFirst(), (u) => this.users.userId(u)));
    }
    const seenEvents = [...this.seenEvents.keys()];
    return { header: { appliedSeq: this.appliedSeq, streamId, takenAtMs, candidates, seenEventCount: seenEvents.length }, seeds, seenEvents };
  }

  /**
   * Restores click-derived state from a snapshot, over registrations already
   * loaded. A snapshot entry for a candidate missing from the registry is
   * skipped and returned: the registry is the source of truth for candidates.
   * Every candidate with seeds is marked changed, so it is announced again.
   */
  restore(content: SnapshotContent): string[] {
    const orphans: string[] = [];
    content.header.candidates.forEach((entry, i) => {
      const record = this.candidates.get(entry.candidateId);
      if (!record) {
        orphans.push(entry.candidateId);
        return;
      }
      record.totalClicks = entry.totalClicks;
      record.lastClickAtMs = entry.lastClickAtMs;
      record.seedVersion = entry.seedVersion;
      const set = this.ringOf(content.seeds[i]!);
      this.replaceSeeds(entry.candidateId, set);
      if (set.size > 0) this.dirty.add(entry.candidateId);
    });
    this.seenEvents = RecencySet.from(content.seenEvents, this.options.dedupeCap);
    this.appliedSeq = content.header.appliedSeq;
    return orphans;
  }

  /** A ring of `userIds` (oldest first), their users retained while it holds them. */
  private ringOf(userIds: readonly string[]): SeedRing {
    const ring = new SeedRing(this.options.seedCap);
    for (const id of userIds) {
      const user = this.users.intern(id);
      if (!ring.has(user)) this.users.retain(user);
      const out = ring.touch(user);
      if (out !== -1) this.users.release(out);
    }
    return ring;
  }

  /** Sets a candidate's ring, releasing the users of the one it replaces. */
  private replaceSeeds(candidateId: string, ring: SeedRing): void {
    const previous = this.seeds.get(candidateId);
    if (previous) for (const u of previous.oldestFirst()) this.users.release(u);
    this.seeds.set(candidateId, ring);
  }

  /** Puts a candidate back on the changed list (its announcement failed). */
  markDirty(candidateId: string): void {
    if (this.candidates.has(candidateId)) this.dirty.add(candidateId);
  }

  /** Counts of candidates by state, for the gauge. */
  countByState(): Record<CandidateState, number> {
    const counts: Record<CandidateState, number> = { active: 0, retired: 0, expired: 0 };
    for (const record of this.candidates.values()) counts[record.state]++;
    return counts;
  }

  /** Candidates whose seeds changed since the last call; coalesces many clicks into one announcement. */
  takeDirty(): string[] {
    const ids = [...this.dirty];
    this.dirty.clear();
    return ids;
  }
}

/** Throws InvalidArgumentError for a rejection that should fail a whole request. */
export function rejectionError(rejection: Rejection, prefix = ''): InvalidArgumentError {
  return new InvalidArgumentError(`${prefix}${rejection.field}`, rejection.message);
}
