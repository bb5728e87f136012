/**
 * A truncated LMDB file (issue 15): opening it used to map pages past the end of the file
 * and die of SIGBUS with no message. Now the open refuses it with StorageCorruptError
 * naming the file and the sizes, in-process and as a child process would see it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLmdbStore, StorageCorruptError, UnavailableError } from '@ralm/platform';

jest.setTimeout(60_000);

describe('a damaged LMDB state store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-lmdb-damage-'));
    const store = await openLmdbStore({ dir });
    for (let i = 0; i < 300; i++) await store.put(`k${i}`, new Uint8Array(4000).fill(i % 256));
    await store.close();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens an intact one, and refuses a truncated one naming the file and what is missing', async () => {
    const reopened = await openLmdbStore({ dir });
    expect((await reopened.get('k299'))?.[0]).toBe(299 % 256);
    await reopened.close();
    const file = path.join(dir, 'data.mdb');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const err = await openLmdbStore({ dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageCorruptError);
    expect((err as StorageCorruptError).path).toBe(file);
    expect((err as Error).message).toMatch(/lmdb state store .*data\.mdb is truncated: \d+ bytes, but its newest meta page \(transaction \d+\) uses pages up to \d+ of 4096 bytes/);
  });

  it('a process that opens a truncated one gets the error instead of dying of SIGBUS', () => {
    const file = path.join(dir, 'data.mdb');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const script = `require('@ralm/platform').openLmdbStore({ dir: ${JSON.stringify(dir)} }).then(async (s) => { for (const k of await s.keys()) await s.get(k); process.exit(0); }, (e) => { console.error(e.message); process.exit(65); });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '..', '..', '..'), encoding: 'utf8' });
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 65, signal: null });
    expect(r.stderr).toMatch(/is truncated/);
  });
});

describe('an LMDB state store on a full disk', () => {
  it('refuses a write as UNAVAILABLE before LMDB sees it, keeps what it holds, and writes again once there is room', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-lmdb-full-'));
    let free = 1 << 30;
    const store = await openLmdbStore({ dir, freeBytes: async () => free });
    try {
      await store.put('kept', Uint8Array.of(1));
      free = 10 << 20;
      const err = await store.put('refused', new Uint8Array(1000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toMatch(/lmdb state store: the disk is \(nearly\) full, 10485760 bytes free; nothing was written/);
      expect(await store.get('refused')).toBeUndefined();
      expect(await store.get('kept')).toEqual(Uint8Array.of(1));
      free = 1 << 30;
      await store.put('refused', new Uint8Array(1000));
      expect(await store.get('refused')).toHaveLength(1000);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
