/** The event bus: the port, its two adapters, and the URL-driven choice between them. */
import { createMemoryBus, openMemoryBus, type MemoryBusOptions } from './memory';
import { connectNatsBus, type NatsBusOptions } from './nats';
import type { EventBus } from './port';
import type { BusLogger } from './shared';

export type { BusSubscription, Delivery, DropReason, EventBus, Handler, PublishAck, PublishOptions, Responder, Subject, SubscribeOptions } from './port';
export { createMemoryBus, openMemoryBus, type MemoryBusOptions } from './memory';
export { connectNatsBus, consumerName, type NatsBusOptions, type NatsStreamOptions } from './nats';
export { BusClosedError, type BusLogger } from './shared';
export { CatchUp } from './catch-up';
export { JournalCorruptError, LOST_SUBJECT, repairJournal, type JournalRepair } from './journal';

export interface BusFromUrlOptions {
  /** NATS connection name: the service name. */
  name: string;
  logger?: BusLogger;
  /** Used only for NATS. */
  nats?: Omit<NatsBusOptions, 'servers' | 'name' | 'logger'>;
  /** Used only for the in-memory bus; with `journalDir` its messages survive a restart. */
  memory?: Omit<MemoryBusOptions, 'logger'> & { journalDir?: string };
}

/**
 * NATS JetStream when `natsUrl` is set (comma-separated URLs allowed),
 * otherwise the in-memory bus for a single process.
 */
export async function createBusFromUrl(natsUrl: string | undefined, opts: BusFromUrlOptions): Promise<EventBus> {
  const servers = (natsUrl ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) {
    const { journalDir, ...memory } = opts.memory ?? {};
    const options = { ...memory, ...(opts.logger && { logger: opts.logger }) };
    return journalDir === undefined ? createMemoryBus(options) : openMemoryBus({ ...options, journalDir });
  }
  return connectNatsBus({ ...opts.nats, servers, name: opts.name, ...(opts.logger && { logger: opts.logger }) });
}
