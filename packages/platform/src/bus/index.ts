/** The event bus: the port, its two adapters, and the URL-driven choice between them. */
import { createMemoryBus, type MemoryBusOptions } from './memory';
import { connectNatsBus, type NatsBusOptions } from './nats';
import type { EventBus } from './port';
import type { BusLogger } from './shared';

export type { BusSubscription, Delivery, DropReason, EventBus, Handler, PublishAck, PublishOptions, Subject, SubscribeOptions } from './port';
export { createMemoryBus, type MemoryBusOptions } from './memory';
export { connectNatsBus, consumerName, type NatsBusOptions, type NatsStreamOptions } from './nats';
export { BusClosedError, type BusLogger } from './shared';

export interface BusFromUrlOptions {
  /** NATS connection name: the service name. */
  name: string;
  logger?: BusLogger;
  /** Used only for NATS. */
  nats?: Omit<NatsBusOptions, 'servers' | 'name' | 'logger'>;
  /** Used only for the in-memory bus. */
  memory?: Omit<MemoryBusOptions, 'logger'>;
}

/**
 * NATS JetStream when `natsUrl` is set (comma-separated URLs allowed),
 * otherwise the in-memory bus for a single process.
 */
export async function createBusFromUrl(natsUrl: string | undefined, opts: BusFromUrlOptions): Promise<EventBus> {
  const servers = (natsUrl ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) return createMemoryBus({ ...opts.memory, ...(opts.logger && { logger: opts.logger }) });
  return connectNatsBus({ ...opts.nats, servers, name: opts.name, ...(opts.logger && { logger: opts.logger }) });
}
