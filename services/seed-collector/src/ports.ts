import type { Counter, Gauge } from 'prom-client';
import type { EventBus, StateStore } from '@ralm/platform';
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

/** Everything a handler may touch. */
export interface SeedCollectorDeps {
  readonly config: SeedCollectorConfig;
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
