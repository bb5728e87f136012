import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openLmdbStore, type StateStore } from '@ralm/platform';
import { ExclusionLimitError, ExclusionStore } from '../src/adapters/exclusion-store';
import { foldExclusions } from '../src/domain/exclusions';

describe('exclusion lists', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-exclusions-'));
    store = await openLmdbStore({ dir });
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('fold edits in order: clear, then remove, then add', () => {
    expect([...foldExclusions([{ clear: false, add: ['a', 'b'], remove: [] }, { clear: false, add: ['c'], remove: ['a', 'x'] }])].sort()).toEqual(['b', 'c']);
    expect([...foldExclusions([{ clear: false, add: ['a'], remove: [] }, { clear: true, add: ['d'], remove: ['d'] }])]).toEqual(['d']);
  });

  it('keep every edit of two replicas writing at once, keep lists apart per candidate (ids with slashes too), and survive a reopen', async () => {
    const a = new ExclusionStore(async () => store);
    const b = new ExclusionStore(async () => store);
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => a.apply('cand/1', { clear: false, add: [`a${i}`], remove: [] }, 1000)),
      ...Array.from({ length: 20 }, (_, i) => b.apply('cand/1', { clear: false, add: [`b${i}`], remove: [] }, 1000)),
    ]);
    await a.apply('cand', { clear: false, add: ['other'], remove: [] }, 1000);
    expect((await a.read('cand/1')).size).toBe(40);
    expect([...(await b.read('cand'))]).toEqual(['other']);
    await store.close();
    store = await openLmdbStore({ dir });
    const again = new ExclusionStore(async () => store);
    expect((await again.read('cand/1')).size).toBe(40);
    expect([...(await again.read('nobody'))]).toEqual([]);
  });

  it('drop the edits a clear supersedes, and refuse a list over its limit without storing the edit', async () => {
    const x = new ExclusionStore(async () => store);
    for (let i = 0; i < 5; i++) await x.apply('c', { clear: false, add: [`u${i}`], remove: [] }, 10);
    expect((await store.keys('exclusions/')).length).toBe(5);
    expect([...(await x.apply('c', { clear: true, add: ['z'], remove: [] }, 10))]).toEqual(['z']);
    expect((await store.keys('exclusions/')).length).toBe(1);
    await expect(x.apply('c', { clear: false, add: Array.from({ length: 10 }, (_, i) => `n${i}`), remove: [] }, 10)).rejects.toBeInstanceOf(ExclusionLimitError);
    expect([...(await x.read('c'))]).toEqual(['z']);
  });
});
