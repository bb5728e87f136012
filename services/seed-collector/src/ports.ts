import type { Counter, Gauge } from 'prom-client';
import type { CallContext, EventBus, StateStore, Subject } from '@ralm/platform';
import type { ClickRecorded } from '@ralm/proto/events';
import type { Click as ClickProto } from '@ralm/proto/seed_collector';
import type { IngestResult } from './handlers/ingest';
import type { SeedCollectorConfig } from './config';
import type { ArmAssigner } from '@ralm/experiment';
import type { AbLedger } from './domain/ab-ledger';
import type { SeedBook } from './domain/seed-book';

/** Counters the handlers and the click consumer update; created once in metrics.ts. */
export interface SeedCollectorMetrics {
  /**
   * Clicks by outcome: accepted (published) / applied, duplicate, rejected, or dropped (the
   * bus gave up on the message: undecodable, or the handler failed on every delivery); and where they came from.
   */
  clicks: Counter<'source' | 'outcome'>;
  /** Rejected clicks by reason (a fixed set, see RejectReason). */
  rejections: Counter<'reason'>;
  /** `seeds.updated` announcements published. */
  seedsAnnounced: Counter<string>;
  /** Registered candidates by state. */
  candidates: Gauge<'state'>;
  /** Feedback events by source (grpc, bus) and outcome (accepted, duplicate, rejected / applied, late, unknown_arm, dropped, malformed). */
  feedback: Counter<'source' | 'outcome'>;
  /** `ralm_ab_exposures_total`: exposure events counted in the A/B window, by arm. */
  abExposures: Counter<'arm'>;
  /** `ralm_ab_clicks_total`: click events counted in the A/B window, by arm. */
  abClicks: Counter<'arm'>;
}

/**
 * Where clicks go: to the partition that holds their candidate, on this replica or on the
 * owner's (routing.ts). With one partition, straight to the local book's subject.
 */
export interface SeedRouting {
  /** ReportClicks / StreamClicks: checked by each candidate's partition, published to its subject. */
  ingest(clicks: ClickProto[], ctx: CallContext): Promise<IngestResult>;
  /** Clicks carried by feedback: those on live candidates become seeds, the rest are skipped silently. */
  seedClicks(clicks: ClickProto[], ctx: CallContext): Promise<number>;
}

/** Everything a handler may touch: one partition's book and store, and what the replica shares. */
export interface SeedCollectorDeps {
  readonly config: SeedCollectorConfig;
  /** This partition: its index, its click subject and its consumer's durable name. */
  readonly partition: { readonly index: number; readonly clicks: Subject<ClickRecorded>; readonly durable: string };
  readonly seeds: SeedRouting;
  readonly book: SeedBook;
  readonly bus: EventBus;
  /** Where registrations and seed snapshots are kept across restarts. */
  readonly store: StateStore;
  readonly metrics: SeedCollectorMetrics;
  readonly now: () => number;
  /** The A/B measures over the sliding day. */
  readonly ab: AbLedger;
  /** Resolves the arm of feedback sent without one; knows the configured arms. */
  readonly assigner: ArmAssigner;
}
