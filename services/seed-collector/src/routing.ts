import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import {
  ConfigError,
  DeadlineExceededError,
  errorFromWire,
  errorToWire,
  partitionOf,
  NoResponderError,
  requireCount,
  UnavailableError,
  AbortedError,
  type BusSubscription,
  type CallContext,
  type EventBus,
  type Logger,
  type WireError,
} from '@ralm/platform';
import {
  GetSeedStatsRequest,
  GetSeedStatsResponse,
  RegisterCandidateRequest,
  RegisterCandidateResponse,
  ReportClicksRequest,
  ReportClicksResponse,
  RetireCandidateRequest,
  RetireCandidateResponse,
  type Click as ClickProto,
  type ListSeedsRequest,
  type ListSeedsResponse,
} from '@ralm/proto/seed_collector';
import { getSeedStats } from './handlers/get-seed-stats';
import { ingestClicks, MAX_CLICKS_PER_MESSAGE, publishSeedClicks, type IngestResult } from './handlers/ingest';
import { SEEDS_PER_CHUNK, seedSnapshot, sendSeeds } from './handlers/list-seeds';
import { registerCandidate } from './handlers/register-candidate';
import { retireCandidate } from './handlers/retire-candidate';
import type { SeedCollectorDeps, SeedRouting } from './ports';

/** The subject a partition's owner answers on (outside the stream: bus.serve). */
export const partitionRpcSubject = (partition: number) => `ralm.rpc.seed-collector.p${partition}`;

/** Clicks per forwarded request: 1,000 × (3 ids of ≤ 256 bytes + a rejection text) stays under 1 MiB. */
const FORWARD_CLICKS = 1_000;
/** Bytes of user ids per forwarded listing chunk: well under NATS's 1 MiB payload with its JSON. */
const FORWARD_LISTING_BYTES = 512 * 1024;

/** A forwarded call waits at most this long, or the caller's deadline when sooner. */
const FORWARD_TIMEOUT_MS = 10_000;
/** A remote listing is kept this long between its chunks, and at most this many at once. */
const LISTING_TTL_MS = 60_000;
const MAX_LISTINGS = 64;

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
  fromPartial(object: unknown): T;
}

const json = <T>(): Codec<T> => ({
  encode: (m) => ({ finish: () => new TextEncoder().encode(JSON.stringify(m)) }),
  decode: (b) => JSON.parse(new TextDecoder().decode(b)) as T,
  fromPartial: (o) => o as T,
});

interface ListingChunkRequest {
  request: ListSeedsRequest;
  listingId?: string;
  from: number;
}
interface ListingChunk {
  listingId: string;
  /** Where this chunk starts in the listing. */
  from: number;
  userIds: string[];
  seedVersion: number;
  total: number;
}

/** What the owner of a partition can be asked: each method, its codecs and the local work. */
const METHODS = {
  GetSeedStats: { req: GetSeedStatsRequest as Codec<GetSeedStatsRequest>, res: GetSeedStatsResponse as Codec<GetSeedStatsResponse> },
  RegisterCandidate: { req: RegisterCandidateRequest as Codec<RegisterCandidateRequest>, res: RegisterCandidateResponse as Codec<RegisterCandidateResponse> },
  RetireCandidate: { req: RetireCandidateRequest as Codec<RetireCandidateRequest>, res: RetireCandidateResponse as Codec<RetireCandidateResponse> },
  Ingest: { req: ReportClicksRequest as Codec<ReportClicksRequest>, res: ReportClicksResponse as Codec<ReportClicksResponse> },
  SeedClicks: { req: ReportClicksRequest as Codec<ReportClicksRequest>, res: json<{ stored: number }>() },
  ListSeedsChunk: { req: json<ListingChunkRequest>(), res: json<ListingChunk>() },
  Owner: { req: json<Record<string, never>>(), res: json<{ ordinal: number; replicas: number }>() },
} as const;
type Method = keyof typeof METHODS;
type Req<M extends Method> = ReturnType<(typeof METHODS)[M]['req']['decode']>;
type Res<M extends Method> = ReturnType<(typeof METHODS)[M]['res']['decode']>;

/** A call context for work done on behalf of a replica's caller: its deadline, carried over. */
function forwardedContext(method: string, deadlineMs: number | undefined): CallContext & { done(): void } {
  const controller = new AbortController();
  const timer = deadlineMs === undefined ? undefined : setTimeout(() => controller.abort(), Math.max(0, deadlineMs - Date.now()));
  timer?.unref();
  return {
    method,
    signal: controller.signal,
    deadlineMs,
    metadata: new Metadata(),
    throwIfDone() {
      if (controller.signal.aborted) throw new DeadlineExceededError();
    },
    done: () => clearTimeout(timer),
  };
}

/**
 * Sends each call to the partition that holds its candidate: run here when this replica owns
 * it, else asked of its owner over the bus (request-reply), whose answer — or typed error —
 * comes back as if it had been local. With one partition every call is local.
 */
export class SeedRouter implements SeedRouting {
  private readonly listings = new Map<string, { candidateId: string; seeds: string[]; seedVersion: number; expiresAt: number }>();

  constructor(
    private readonly partitions: number,
    private readonly layout: { ordinal: number; replicas: number },
    private readonly bus: EventBus,
    /** This replica's partitions, by index; filled once they are open. */
    readonly local: Map<number, SeedCollectorDeps>,
    private readonly logger: Logger,
  ) {}

  partitionOf(candidateId: string): number {
    return partitionOf(candidateId, this.partitions);
  }

  getSeedStats(request: GetSeedStatsRequest, ctx?: CallContext): Promise<GetSeedStatsResponse> {
    return this.call('GetSeedStats', this.partitionOf(request.candidateId), request, ctx);
  }

  registerCandidate(request: RegisterCandidateRequest, ctx?: CallContext): Promise<RegisterCandidateResponse> {
    return this.call('RegisterCandidate', this.partitionOf(request.candidateId), request, ctx);
  }

  retireCandidate(request: RetireCandidateRequest, ctx?: CallContext): Promise<RetireCandidateResponse> {
    return this.call('RetireCandidate', this.partitionOf(request.candidateId), request, ctx);
  }

  async ingest(clicks: ClickProto[], ctx: CallContext): Promise<IngestResult> {
    // The whole batch is held to the message limit, as one partition would hold it.
    requireCount(clicks.length, 'clicks', 1, MAX_CLICKS_PER_MESSAGE);
    const groups = this.byPartition(clicks);
    const only = groups.size === 1 ? this.local.get([...groups.keys()][0]!) : undefined;
    if (only) return ingestClicks(clicks, only, ctx);
    const merged: IngestResult = { accepted: 0, duplicates: 0, rejections: [] };
    await Promise.all(
      [...groups].flatMap(([k, group]) =>
        this.pieces(k, group).map(async (piece) => {
          const result = await this.call('Ingest', k, { clicks: piece.map((g) => g.click) }, ctx);
          merged.accepted += result.accepted;
          merged.duplicates += result.duplicates;
          for (const r of result.rejections) merged.rejections.push({ ...r, index: piece[r.index]!.index });
        }),
      ),
    );
    merged.rejections.sort((a, b) => a.index - b.index);
    return merged;
  }

  async seedClicks(clicks: ClickProto[], ctx: CallContext): Promise<number> {
    const parts = await Promise.all(
      [...this.byPartition(clicks)].flatMap(([k, group]) => this.pieces(k, group).map(async (piece) => (await this.call('SeedClicks', k, { clicks: piece.map((g) => g.click) }, ctx)).stored)),
    );
    return parts.reduce((a, b) => a + b, 0);
  }

  /** ListSeeds: local, or the owner's snapshot fetched chunk by chunk (one listing, one version). */
  async listSeeds(request: ListSeedsRequest, ctx: CallContext, send: (chunk: ListSeedsResponse) => Promise<void>): Promise<void> {
    const k = this.partitionOf(request.candidateId);
    const local = this.local.get(k);
    if (local) return sendSeeds(seedSnapshot(request, local), ctx, send);
    let chunk = await this.call('ListSeedsChunk', k, { request, from: 0 }, ctx);
    for (;;) {
      await send({ userIds: chunk.userIds, seedVersion: chunk.seedVersion, total: chunk.total });
      const next = chunk.from + chunk.userIds.length;
      if (next >= chunk.total) return;
      ctx.throwIfDone();
      const previous = chunk;
      chunk = await this.call('ListSeedsChunk', k, { request, listingId: chunk.listingId, from: next }, ctx);
      // One snapshot or nothing: an owner that restarted mid-listing knows no such listing and says so.
      if (chunk.from !== next || chunk.seedVersion !== previous.seedVersion || chunk.total !== previous.total) {
        throw new AbortedError(`the seeds of candidate '${request.candidateId}' changed owner while being listed; list again`, { ids: [request.candidateId] });
      }
    }
  }

  /**
   * Refuses to take partitions another replica still serves: two owners of one partition
   * would split its clicks between two books. Happens when SEED_REPLICAS changed while old
   * replicas run (docs/SCALING.md: stop them all first); a crashed owner answers no one.
   */
  async checkNoOtherOwner(): Promise<void> {
    for (const k of this.local.keys()) {
      let other: { ordinal: number; replicas: number };
      try {
        other = await this.call('Owner', k, {}, forwardedContext('Owner', Date.now() + 1000), true);
      } catch (err) {
        // No one serves it: free to take. No answer in time is not that — a live owner may be
        // busy — so the start fails and is retried by its supervisor.
        if (err instanceof NoResponderError) continue;
        if (err instanceof UnavailableError) throw new ConfigError('SEED_REPLICAS', `partition ${k}: could not tell whether another replica still serves it (${err.message}); refusing to take it`);
        throw err;
      }
      throw new ConfigError(
        'SEED_REPLICAS',
        `partition ${k} is still served by replica ${other.ordinal} of ${other.replicas}; this one is ${this.layout.ordinal} of ${this.layout.replicas}. Stop every replica before changing SEED_REPLICAS`,
      );
    }
  }

  /** Answers the owners' subjects of this replica's partitions. */
  async serve(): Promise<BusSubscription[]> {
    return Promise.all(
      [...this.local.keys()].map((k) => this.bus.serve(partitionRpcSubject(k), (bytes) => this.answer(k, bytes), { queue: `seed-collector-p${k}` })),
    );
  }

  /**
   * A partition's group as the requests that carry it: whole when it is local, else in
   * pieces of FORWARD_CLICKS, so a request and its answer (a rejection per click at worst)
   * stay under NATS's 1 MiB payload however long the ids (each at most 256 bytes).
   */
  private pieces<T>(partition: number, group: T[]): T[][] {
    if (this.local.has(partition) || group.length <= FORWARD_CLICKS) return [group];
    const out: T[][] = [];
    for (let i = 0; i < group.length; i += FORWARD_CLICKS) out.push(group.slice(i, i + FORWARD_CLICKS));
    return out;
  }

  private byPartition(clicks: ClickProto[]): Map<number, Array<{ click: ClickProto; index: number }>> {
    const groups = new Map<number, Array<{ click: ClickProto; index: number }>>();
    clicks.forEach((click, index) => {
      const k = this.partitionOf(click.candidateId);
      let group = groups.get(k);
      if (!group) groups.set(k, (group = []));
      group.push({ click, index });
    });
    return groups;
  }

  private async call<M extends Method>(method: M, partition: number, request: Req<M>, ctx?: CallContext, remote = false): Promise<Res<M>> {
    const local = remote ? undefined : this.local.get(partition);
    if (local) return this.runLocal(method, local, request, ctx ?? forwardedContext(method, undefined));
    const deadlineMs = ctx?.deadlineMs;
    const header = new TextEncoder().encode(`${JSON.stringify({ m: method, d: deadlineMs ?? null })}\n`);
    const body = METHODS[method].req.encode(request as never).finish();
    const payload = new Uint8Array(header.length + body.length);
    payload.set(header);
    payload.set(body, header.length);
    const timeoutMs = Math.max(1, Math.min(FORWARD_TIMEOUT_MS, deadlineMs === undefined ? FORWARD_TIMEOUT_MS : deadlineMs - Date.now()));
    const answer = await this.bus.request(partitionRpcSubject(partition), payload, { timeoutMs });
    if (answer[0] === 1) throw errorFromWire(JSON.parse(new TextDecoder().decode(answer.subarray(1))) as WireError);
    return METHODS[method].res.decode(answer.subarray(1)) as Res<M>;
  }

  private async answer(partition: number, payload: Uint8Array): Promise<Uint8Array> {
    const newline = payload.indexOf(10);
    const { m, d } = JSON.parse(new TextDecoder().decode(payload.subarray(0, newline))) as { m: Method; d: number | null };
    const deps = this.local.get(partition);
    const ctx = forwardedContext(m, d ?? undefined);
    try {
      if (!deps) throw new DeadlineExceededError(`partition ${partition} is no longer served here`);
      if (!(m in METHODS)) throw new Error(`unknown method ${String(m)}`);
      const request = METHODS[m].req.decode(payload.subarray(newline + 1));
      const result = await this.runLocal(m, deps, request as never, ctx);
      return prefixed(0, METHODS[m].res.encode(result as never).finish());
    } catch (err) {
      if (!(err instanceof Error && 'ids' in err)) this.logger.warn({ err, partition, method: m }, 'forwarded seed-collector call failed');
      return prefixed(1, new TextEncoder().encode(JSON.stringify(errorToWire(err))));
    } finally {
      ctx.done();
    }
  }

  private async runLocal<M extends Method>(method: M, deps: SeedCollectorDeps, request: Req<M>, ctx: CallContext): Promise<Res<M>> {
    switch (method) {
      case 'GetSeedStats':
        return (await getSeedStats(request as GetSeedStatsRequest, deps)) as Res<M>;
      case 'RegisterCandidate':
        return (await registerCandidate(request as RegisterCandidateRequest, deps)) as Res<M>;
      case 'RetireCandidate':
        return (await retireCandidate(request as RetireCandidateRequest, deps)) as Res<M>;
      case 'Ingest':
        return (await ingestClicks((request as ReportClicksRequest).clicks, deps, ctx)) as Res<M>;
      case 'SeedClicks':
        return { stored: await publishSeedClicks((request as ReportClicksRequest).clicks, deps, ctx) } as Res<M>;
      case 'ListSeedsChunk':
        return this.listingChunk(request as ListingChunkRequest, deps) as Res<M>;
      case 'Owner':
        return { ...this.layout } as Res<M>;
      default:
        throw new Error(`unknown method ${String(method)}`);
    }
  }

  /** One chunk of a listing; the first request takes the snapshot, later ones read it. */
  private listingChunk(request: ListingChunkRequest, deps: SeedCollectorDeps): ListingChunk {
    const now = Date.now();
    for (const [id, l] of this.listings) if (l.expiresAt <= now) this.listings.delete(id);
    let listingId = request.listingId;
    if (listingId === undefined) {
      listingId = randomUUID();
      this.listings.set(listingId, { candidateId: request.request.candidateId, ...seedSnapshot(request.request, deps), expiresAt: now + LISTING_TTL_MS });
      if (this.listings.size > MAX_LISTINGS) this.listings.delete(this.listings.keys().next().value!);
    }
    const listing = this.listings.get(listingId);
    if (!listing || listing.candidateId !== request.request.candidateId) {
      throw new AbortedError(`the seed listing of candidate '${request.request.candidateId}' is gone (expired, evicted or its owner restarted); list again`, { ids: [request.request.candidateId] });
    }
    listing.expiresAt = now + LISTING_TTL_MS;
    const userIds: string[] = [];
    let bytes = 0;
    for (let i = request.from; i < listing.seeds.length && userIds.length < SEEDS_PER_CHUNK && bytes < FORWARD_LISTING_BYTES; i++) {
      userIds.push(listing.seeds[i]!);
      bytes += listing.seeds[i]!.length * 3 + 3;
    }
    if (request.from + userIds.length >= listing.seeds.length) this.listings.delete(listingId);
    return { listingId, from: request.from, userIds, seedVersion: listing.seedVersion, total: listing.seeds.length };
  }
}

function prefixed(tag: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = tag;
  out.set(body, 1);
  return out;
}
