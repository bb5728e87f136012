/**
 * Restart without loss, the hard way: the SeedCollector runs as its own process
 * on a real nats-server, is killed with SIGKILL while clicks stream in (after a
 * snapshot, with acknowledged clicks beyond it), and is started again. Its seed
 * sets must then equal a reference book fed the same clicks in stream order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials } from '@grpc/grpc-js';
import { callUnary, connectNatsBus, Subjects, type EventBus } from '@ralm/platform';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';
import { SeedCollectorServiceClient, type ListSeedsResponse } from '@ralm/proto/seed_collector';
import { SeedBook } from '../services/seed-collector/src/domain/seed-book';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..');
const SEED_CAP = 40;
const CANDIDATES = ['c0', 'c1', 'c2', 'c3'];
const CLICKS = 12_000;

interface Running {
  child: ChildProcess;
  client: SeedCollectorServiceClient;
  logs: Array<Record<string, unknown>>;
}

/** Starts seed-collector's real main.ts; resolves once it logged its port. */
async function startCollector(env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'seed-collector', 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'service started') resolve(entry.grpcPort as number);
    });
    child.once('exit', (code) => reject(new Error(`seed-collector exited with ${code} before starting`)));
  });
  return { child, client: new SeedCollectorServiceClient(`127.0.0.1:${port}`, credentials.createInsecure()), logs };
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function listSeeds(client: SeedCollectorServiceClient, candidateId: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ids: string[] = [];
    const call = client.listSeeds({ candidateId, limit: 0 });
    call.on('data', (chunk: ListSeedsResponse) => ids.push(...chunk.userIds));
    call.on('error', reject);
    call.on('end', () => resolve(ids));
  });
}

const totalClicks = async (client: SeedCollectorServiceClient) => {
  let sum = 0;
  for (const candidateId of CANDIDATES) sum += (await callUnary(client.getSeedStats.bind(client), { candidateId })).totalClicks;
  return sum;
};

describe('SeedCollector killed mid-stream on NATS', () => {
  let nats: NatsServer;
  let publisher: EventBus;
  let running: Running | undefined;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    publisher = await connectNatsBus({ servers: nats.url, name: 'test-publisher' });
  });
  afterAll(async () => {
    running?.client.close();
    running?.child.kill('SIGKILL');
    await publisher?.close();
    await nats?.stop();
  });

  it('rebuilds exactly the seed sets of a reference from its snapshot and the stream', async () => {
    const env = {
      NATS_URL: nats.url,
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'debug',
      SEED_CAP: String(SEED_CAP),
      SNAPSHOT_INTERVAL_SECONDS: '1',
      STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-restart-')),
    };
    running = await startCollector(env);
    const client = running.client;
    for (const candidateId of CANDIDATES) await callUnary(client.registerCandidate.bind(client), { candidateId, category: 'c', tags: [] });

    const now = Date.now();
    const reference = new SeedBook({ seedCap: SEED_CAP, dedupeCap: 2_000_000, maxFutureSkewMs: 300_000, maxClickAgeMs: 86_400_000 });
    for (const id of CANDIDATES) reference.register(id, 'c', [], now - 60_000);
    const clickAt = (i: number) => ({
      // Every 50th click repeats an earlier event id with no bus msgId: only the book's memory can drop it.
      eventId: i % 50 === 49 ? `e${i - 7}` : `e${i}`,
      userId: `u${(i * 7919) % 173}`,
      candidateId: CANDIDATES[i % CANDIDATES.length]!,
      timestampMs: now,
    });
    let published = 0;
    // The last third waits for the kill, so the process surely dies with clicks still arriving.
    let killed!: () => void;
    const killGate = new Promise<void>((resolve) => (killed = resolve));
    const publishing = (async () => {
      // One connection, windows of concurrent publishes: the stream keeps the order they were sent in.
      for (let i = 0; i < CLICKS; i += 200) {
        if (i === 8000) await killGate;
        const window = Array.from({ length: Math.min(200, CLICKS - i) }, (_, j) => clickAt(i + j));
        await Promise.all(window.map((c) => publisher.publish(Subjects.clickRecorded, c)));
        published = i + window.length;
      }
    })();
    for (let i = 0; i < CLICKS; i++) reference.apply(clickAt(i), now);

    // Kill after a snapshot was written and more clicks were applied (and acknowledged) beyond it.
    await until('a snapshot', () => running!.logs.some((l) => l.msg === 'seed snapshot written'));
    const snapshotSeq = running.logs.find((l) => l.msg === 'seed snapshot written')!.appliedSeq as number;
    await until('clicks beyond the snapshot', async () => (await totalClicks(client)) > Math.min(snapshotSeq + 500, 7000));
    const appliedAtKill = await totalClicks(client);
    running.child.kill('SIGKILL');
    client.close();
    await new Promise((r) => running!.child.once('exit', r));
    expect(published).toBeLessThan(CLICKS); // the stream was still flowing: killed mid-batch
    killed();

    running = await startCollector(env);
    const restored = running.logs.find((l) => l.msg === 'seed book restored from snapshot');
    expect(restored).toBeDefined();
    // A stream position, so compared with stream positions: never past the registrations plus what was published.
    expect(restored!.appliedSeq as number).toBeLessThanOrEqual(CANDIDATES.length + published);
    expect(appliedAtKill).toBeGreaterThan(0);
    await publishing;
    const expectedTotal = CANDIDATES.reduce((s, id) => s + reference.get(id).totalClicks, 0);
    await until('every click applied once', async () => (await totalClicks(running!.client)) === expectedTotal);
    for (const candidateId of CANDIDATES) {
      expect(await listSeeds(running.client, candidateId)).toEqual(reference.newestSeeds(candidateId, SEED_CAP));
      const stats = await callUnary(running.client.getSeedStats.bind(running.client), { candidateId });
      expect(stats).toMatchObject({ seedCount: SEED_CAP, totalClicks: reference.get(candidateId).totalClicks, seedVersion: reference.get(candidateId).seedVersion });
    }
  });
});

describe('SeedCollector killed mid-stream on the embedded (journaled) bus', () => {
  let running: Running | undefined;
  afterAll(() => {
    running?.client.close();
    running?.child.kill('SIGKILL');
  });

  it('keeps every click a ReportClicks reply accepted, snapshot or not', async () => {
    const env = {
      GRPC_PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'debug',
      SEED_CAP: String(SEED_CAP),
      SNAPSHOT_INTERVAL_SECONDS: '1',
      STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-restart-embedded-')),
    };
    running = await startCollector(env);
    let client = running.client;
    for (const candidateId of CANDIDATES) await callUnary(client.registerCandidate.bind(client), { candidateId, category: 'c', tags: [] });
    const now = Date.now();
    const reference = new SeedBook({ seedCap: SEED_CAP, dedupeCap: 2_000_000, maxFutureSkewMs: 300_000, maxClickAgeMs: 86_400_000 });
    for (const id of CANDIDATES) reference.register(id, 'c', [], now - 60_000);
    const clickAt = (i: number) => ({ eventId: `e${i}`, userId: `u${(i * 7919) % 173}`, candidateId: CANDIDATES[i % CANDIDATES.length]!, timestampMs: now });

    // Sequential calls: when the process dies no call is in flight, so "accepted" is exact.
    let sent = 0;
    const report = async (n: number) => {
      const clicks = Array.from({ length: n }, (_, j) => clickAt(sent + j));
      const reply = await callUnary(client.reportClicks.bind(client), { clicks });
      expect(reply.accepted).toBe(n);
      for (const c of clicks) reference.apply(c, now);
      sent += n;
    };
    await until('a snapshot', async () => {
      await report(100);
      return running!.logs.some((l) => l.msg === 'seed snapshot written');
    });
    for (let i = 0; i < 5; i++) await report(100); // accepted after the snapshot, and possibly not applied yet
    running.child.kill('SIGKILL');
    client.close();
    await new Promise((r) => running!.child.once('exit', r));

    running = await startCollector(env);
    client = running.client;
    expect(running.logs.find((l) => l.msg === 'seed book restored from snapshot')).toBeDefined();
    await report(100);
    const expectedTotal = CANDIDATES.reduce((s, id) => s + reference.get(id).totalClicks, 0);
    await until('every accepted click applied once', async () => (await totalClicks(client)) === expectedTotal);
    for (const candidateId of CANDIDATES) {
      expect(await listSeeds(client, candidateId)).toEqual(reference.newestSeeds(candidateId, SEED_CAP));
    }
  });
});
