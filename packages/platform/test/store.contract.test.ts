/**
 * One contract suite for the state-store port, run against LMDB in a temporary
 * directory and against the NATS object store on a real nats-server.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { ObjectResult } from '@nats-io/obj';
import { UnavailableError } from '@ralm/platform/errors';
import { toGrpcStatus } from '@ralm/platform/grpc/status';
import { connectNatsStore, MAX_STATE_KEY_BYTES, openLmdbStore, openStateStore, type StateStore } from '@ralm/platform/store';
import { readObject } from '@ralm/platform/store/nats-read';
import { startNatsServer, type NatsServer } from '@ralm/platform/testing/nats-server';

/** A fresh, empty backing store per test; `open` may be called again for the same data. */
interface Backing {
  open(): Promise<StateStore>;
  /** Runs between close and reopen in the restart test (e.g. restarts the server). */
  restart?(): Promise<void>;
  dispose(): Promise<void>;
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** Exact bytes, as a plain Uint8Array, whatever the adapter's buffer type. */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.byteLength).toBe(expected.byteLength);
  expect(Buffer.compare(Buffer.from(actual!), Buffer.from(expected))).toBe(0);
}

function describeStoreContract(kind: 'lmdb' | 'nats', makeBacking: () => Promise<Backing>): void {
  describe(`${kind} state store contract`, () => {
    let backing: Backing;
    let store: StateStore;
    beforeEach(async () => {
      backing = await makeBacking();
      store = await backing.open();
    });
    afterEach(async () => {
      await store.close();
      await backing.dispose();
    });

    it('reports its kind and answers undefined for an absent key', async () => {
      expect(store.kind).toBe(kind);
      expect(await store.get('absent')).toBeUndefined();
    });

    it('round-trips bytes exactly: small, empty and 5 MB random', async () => {
      const big = new Uint8Array(randomBytes(5 * 1024 * 1024));
      await store.put('small', bytes(0, 1, 254, 255));
      await store.put('empty', new Uint8Array(0));
      await store.put('big', big);
      expectBytes(await store.get('small'), bytes(0, 1, 254, 255));
      expectBytes(await store.get('empty'), new Uint8Array(0));
      expectBytes(await store.get('big'), big);
    });

    it('keeps its own copy: changing the value put or got later changes nothing stored', async () => {
      const value = bytes(1, 2, 3);
      await store.put('k', value);
      value[0] = 9;
      (await store.get('k'))![1] = 9;
      expectBytes(await store.get('k'), bytes(1, 2, 3));
    });

    it('replaces a value whole, larger by smaller and back', async () => {
      const big = new Uint8Array(randomBytes(600 * 1024));
      await store.put('k', big);
      await store.put('k', bytes(7));
      expectBytes(await store.get('k'), bytes(7));
      await store.put('k', big);
      expectBytes(await store.get('k'), big);
      expect(await store.keys()).toEqual(['k']);
    });

    it('never shows a reader a mix of two values while they replace each other', async () => {
      const versions = [new Uint8Array(randomBytes(1024 * 1024)), new Uint8Array(randomBytes(300 * 1024))];
      await store.put('snap', versions[0]!);
      const reads: Array<Promise<Uint8Array | undefined>> = [];
      const writes: Array<Promise<void>> = [];
      for (let i = 1; i <= 6; i++) {
        writes.push(store.put('snap', versions[i % 2]!));
        reads.push(store.get('snap'), store.get('snap'));
      }
      await Promise.all(writes);
      for (const got of await Promise.all(reads)) {
        expect(versions.some((v) => got !== undefined && Buffer.compare(Buffer.from(got), Buffer.from(v)) === 0)).toBe(true);
      }
    });

    it('deletes a key, and deleting an absent key is not an error', async () => {
      await store.put('gone', bytes(1));
      await store.put('kept', bytes(2));
      await store.delete('gone');
      expect(await store.get('gone')).toBeUndefined();
      await expect(store.delete('gone')).resolves.toBeUndefined();
      await expect(store.delete('never-there')).resolves.toBeUndefined();
      expect(await store.keys()).toEqual(['kept']);
      await store.put('gone', bytes(3)); // a deleted key can be written again
      expectBytes(await store.get('gone'), bytes(3));
    });

    it('lists keys by prefix, sorted by UTF-8 bytes, without deleted ones', async () => {
      for (const key of ['snap/b', 'snap/a', 'snap/c', 'snap', 'snaps', 'other', 'u/\uFFFD', 'u/😀', 'u/é']) {
        await store.put(key, bytes(1));
      }
      await store.delete('snap/c');
      expect(await store.keys('snap/')).toEqual(['snap/a', 'snap/b']);
      expect(await store.keys('snap')).toEqual(['snap', 'snap/a', 'snap/b', 'snaps']);
      expect(await store.keys('nothing')).toEqual([]);
      // Code point order: U+FFFD before U+1F600 (Array.sort() would put the emoji first).
      expect(await store.keys('u/')).toEqual(['u/é', 'u/\uFFFD', 'u/😀']);
      expect(await store.keys()).toEqual(['other', 'snap', 'snap/a', 'snap/b', 'snaps', 'u/é', 'u/\uFFFD', 'u/😀']);
    });

    it('keeps values across close and reopen', async () => {
      const big = new Uint8Array(randomBytes(2 * 1024 * 1024));
      await store.put('a', bytes(1, 2));
      await store.put('b', big);
      await store.put('c', bytes(3));
      await store.delete('c');
      await store.close();
      await backing.restart?.();
      store = await backing.open();
      expectBytes(await store.get('a'), bytes(1, 2));
      expectBytes(await store.get('b'), big);
      expect(await store.get('c')).toBeUndefined();
      expect(await store.keys()).toEqual(['a', 'b']);
    });

    it('rejects every call once closed, and closing again is fine', async () => {
      await store.put('k', bytes(1));
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
      const closed = { name: 'StateStoreClosedError', code: 'STORE_CLOSED', message: `${kind} state store is closed` };
      await expect(store.get('k')).rejects.toMatchObject(closed);
      await expect(store.put('k', bytes(2))).rejects.toMatchObject(closed);
      await expect(store.delete('k')).rejects.toMatchObject(closed);
      await expect(store.keys()).rejects.toMatchObject(closed);
      await expect(store.get('k')).rejects.toBeInstanceOf(UnavailableError);
    });

    it('accepts keys up to MAX_STATE_KEY_BYTES UTF-8 bytes and rejects bad ones', async () => {
      const longest = '€'.repeat(MAX_STATE_KEY_BYTES / 3); // 3 bytes each
      await store.put(longest, bytes(4));
      expectBytes(await store.get(longest), bytes(4));
      await expect(store.put(`${longest}x`, bytes(1))).rejects.toThrow(RangeError);
      await expect(store.put(`${longest}x`, bytes(1))).rejects.toThrow(`${MAX_STATE_KEY_BYTES + 1} UTF-8 bytes`);
      await expect(store.get('')).rejects.toThrow(RangeError);
      await expect(store.delete('a\uD800')).rejects.toThrow(/unpaired/);
      await expect(store.keys('\uDC00')).rejects.toThrow(RangeError);
      expect(await store.keys()).toEqual([longest]);
    });
  });
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ralm-store-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeStoreContract('lmdb', async () => {
  const dir = join(await tempDir(), 'state');
  return { open: () => openLmdbStore({ dir }), dispose: () => rm(dir, { recursive: true, force: true }) };
});

describe('lmdb', () => {
  it('creates a missing directory, even one named like a file', async () => {
    const dir = join(await tempDir(), 'a', 'b', 'state.lmdb');
    const store = await openLmdbStore({ dir });
    await store.put('k', bytes(1));
    await store.close();
    expect(statSync(join(dir, 'data.mdb')).isFile()).toBe(true);
  });
});

describe('nats', () => {
  let server: NatsServer;
  let bucketCounter = 0;
  const open = (bucket: string, requestTimeoutMs = 5000): Promise<StateStore> =>
    connectNatsStore({ servers: server.url, bucket, name: 'store-test', requestTimeoutMs, reconnectTimeWaitMs: 100 });

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeStoreContract('nats', async () => {
    const bucket = `state${++bucketCounter}`;
    return { open: () => open(bucket), restart: () => server.restart(), dispose: async () => undefined };
  });

  it('rejects calls with UnavailableError, within the request timeout, once the server is gone', async () => {
    const own = await startNatsServer({ jetstream: true });
    const store = await connectNatsStore({ servers: own.url, bucket: 'down', name: 'store-test', requestTimeoutMs: 300, reconnectTimeWaitMs: 100 });
    try {
      await store.put('k', bytes(1));
      await own.stop();
      const started = Date.now();
      const errors = await Promise.all([
        store.get('k').catch((e: unknown) => e),
        store.put('k', bytes(2)).catch((e: unknown) => e),
        store.delete('k').catch((e: unknown) => e),
        store.keys().catch((e: unknown) => e),
      ]);
      expect(Date.now() - started).toBeLessThan(2000);
      for (const err of errors) {
        expect(err).toBeInstanceOf(UnavailableError);
        expect(err).toMatchObject({ name: 'UnavailableError', message: expect.stringMatching(/^nats state store: /) });
        expect((err as Error).cause).toBeInstanceOf(Error);
        expect(toGrpcStatus(err).code).toBe(status.UNAVAILABLE);
      }
    } finally {
      await store.close();
    }
  });

  it('gives a reader on another connection whole values while a writer keeps replacing them', async () => {
    // Replacing purges the old chunks, sometimes under a read in flight: the store must re-read, not hang or mix.
    // The stall timeout is the request timeout; under this load a chunk's PubAck can take a few hundred ms.
    const writer = await open('contended', 1000);
    const reader = await open('contended', 1000);
    try {
      const versions = [new Uint8Array(randomBytes(3 << 20)), new Uint8Array(randomBytes(2 << 20))];
      await writer.put('k', versions[0]!);
      const writes = (async () => {
        for (let i = 1; i <= 12; i++) await writer.put('k', versions[i % 2]!);
      })();
      const reads = Array.from({ length: 3 }, async () => {
        const got: Array<Uint8Array | undefined> = [];
        for (let i = 0; i < 6; i++) got.push(await reader.get('k'));
        return got;
      });
      await writes;
      for (const got of (await Promise.all(reads)).flat()) {
        expect(versions.some((v) => got !== undefined && Buffer.compare(Buffer.from(got), Buffer.from(v)) === 0)).toBe(true);
      }
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it('fails to connect with UnavailableError when no server listens', async () => {
    const gone = await startNatsServer({ jetstream: false });
    await gone.stop();
    await expect(connectNatsStore({ servers: gone.url, bucket: 'never', name: 'store-test' })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('fails a read whose chunks stop arriving instead of hanging', async () => {
    const stalled: ObjectResult = {
      info: {} as ObjectResult['info'],
      data: new ReadableStream<Uint8Array>({ pull: () => new Promise<void>(() => undefined) }),
      error: new Promise<Error | null>(() => undefined),
    };
    await expect(readObject(stalled, 50, 'get k')).rejects.toMatchObject({ name: 'UnavailableError', message: 'nats state store: get k stalled: no data for 50 ms' });
  });

  it('openStateStore picks NATS when a URL is set and LMDB otherwise', async () => {
    const dir = await tempDir();
    const nats = await openStateStore({ natsUrl: ` ${server.url} ,`, dir, bucket: 'factory', name: 'store-test' });
    const lmdb = await openStateStore({ natsUrl: ' ', dir, bucket: 'factory', name: 'store-test' });
    try {
      expect([nats.kind, lmdb.kind]).toEqual(['nats', 'lmdb']);
      await nats.put('only-in-nats', bytes(1));
      expect(await lmdb.get('only-in-nats')).toBeUndefined();
    } finally {
      await Promise.all([nats.close(), lmdb.close()]);
    }
  });
});
