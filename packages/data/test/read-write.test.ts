import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATASET_FILES, DatasetError, fingerprintOf, readDataset, synthesize, synthesizeToDir, writeDataset, type Dataset } from '@ralm/data';
import { VALID_FILES, tempDirs, writeFiles } from './helpers';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** A hand-made dataset with every awkward value the format must carry. */
function awkward(): Dataset {
  const ds: Dataset = {
    schema: {
      fields: [
        { name: 'city', kind: 'univalent' },
        { name: 'likes', kind: 'multivalent' },
        { name: 'score', kind: 'continuous' },
      ],
    },
    users: {
      ids: ['plain', 'with,comma', 'with "quotes"', 'multi\nline', ' spaced '],
      fields: new Map([
        ['city', { kind: 'univalent', values: ['Paris', 'Washington, D.C.', '', 'a|b stays one value', '"'] }],
        ['likes', { kind: 'multivalent', values: [['a', 'b'], [], ['x,y', 'say "hi"'], ['only'], ['line\nbreak']] }],
        ['score', { kind: 'continuous', values: Float64Array.from([1.5, NaN, -0.25, 1e-7, 12345678901234]) }],
      ]),
    },
    items: {
      ids: ['i,1', 'i2'],
      category: ['news, local', ''],
      tags: [['t1', 't"2'], []],
    },
    events: {
      user: Int32Array.from([0, 1, 3, 4]),
      item: Int32Array.from([0, 1, 0, 1]),
      timestamp: Float64Array.from([0, 1700000000, 1700000001, 9007199254740991]),
      label: Uint8Array.from([1, 0, 1, 1]),
    },
    fingerprint: '',
  };
  ds.fingerprint = fingerprintOf(ds);
  return ds;
}

describe('writeDataset → readDataset', () => {
  it('round-trips quoted commas, quotes, line breaks, empty lists and missing values', async () => {
    const dir = await dirs.make();
    const original = awkward();
    const written = await writeDataset(dir, original);
    const back = await readDataset(dir);
    expect(back).toEqual(original);
    expect(written).toBe(original.fingerprint);
    expect(back.fingerprint).toBe(original.fingerprint);
  });

  it('round-trips a synthetic dataset, fingerprint included', async () => {
    const dir = await dirs.make();
    const ds = synthesize({ users: 300, items: 80, seed: 11 });
    await writeDataset(dir, ds);
    const back = await readDataset(dir);
    expect(back).toEqual(ds);
    expect(back.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('synthesizeToDir writes what synthesize returns', async () => {
    const dir = await dirs.make();
    const written = await synthesizeToDir({ users: 200, items: 50, seed: 5 }, dir);
    expect(written).toEqual(synthesize({ users: 200, items: 50, seed: 5 }));
    expect((await readDataset(dir)).fingerprint).toBe(written.fingerprint);
  });

  it('fingerprints like `sha256sum FILES | sha256sum`', async () => {
    const dir = await dirs.make();
    const fingerprint = await writeDataset(dir, awkward());
    let shell: string;
    try {
      shell = execFileSync('sh', ['-c', `sha256sum ${DATASET_FILES.join(' ')} | sha256sum`], { cwd: dir, encoding: 'utf8' });
    } catch {
      return; // no coreutils here; the other fingerprint tests still pin the value's stability
    }
    expect(fingerprint).toBe(`sha256:${shell.split(' ')[0]}`);
  });

  it('refuses to write what it could not read back', async () => {
    const dir = await dirs.make();
    const bad = awkward();
    bad.items.tags[1] = ['a|b'];
    await expect(writeDataset(dir, bad)).rejects.toMatchObject({ name: 'DatasetError', file: 'items.csv', line: 3, column: 'tags' });
    const dup = awkward();
    dup.users.ids[2] = 'plain';
    await expect(writeDataset(dir, dup)).rejects.toMatchObject({ file: 'users.csv', line: 4, column: 'user_id' });
    const late = awkward();
    late.events.timestamp[1] = 1.5;
    await expect(writeDataset(dir, late)).rejects.toBeInstanceOf(DatasetError);
  });
});

describe('readDataset', () => {
  it('reads the columns of each file in any order, in schema order', async () => {
    const dir = await dirs.make();
    await writeFiles(dir, {
      ...VALID_FILES,
      'users.csv': 'age,city,user_id,tags\n31,paris,u1,a|b\n,,u2,\n47.5,"Washington, D.C.",u3,c\n',
      'items.csv': 'tags,item_id,category\nx|y,i1,news\n,i2,sport\n',
      'events.csv': 'label,timestamp,item_id,user_id\n1,1700000000,i1,u1\n0,1700000001,i2,u2\n1,1700000002,i1,u3\n',
    });
    const reordered = await readDataset(dir);
    const canonical = await readDataset(await fixture(VALID_FILES));
    expect([...reordered.users.fields.keys()]).toEqual(['tags', 'city', 'age']);
    expect({ ...reordered, fingerprint: '' }).toEqual({ ...canonical, fingerprint: '' });
    expect(reordered.fingerprint).not.toBe(canonical.fingerprint); // the bytes differ
  });

  it('parses values by kind: lists, missing values, numbers', async () => {
    const ds = await readDataset(await fixture(VALID_FILES));
    expect(ds.users.fields.get('tags')).toEqual({ kind: 'multivalent', values: [['a', 'b'], [], ['c']] });
    expect(ds.users.fields.get('city')).toEqual({ kind: 'univalent', values: ['paris', '', 'Washington, D.C.'] });
    expect(ds.users.fields.get('age')).toEqual({ kind: 'continuous', values: Float64Array.from([31, NaN, 47.5]) });
    expect(ds.items).toEqual({ ids: ['i1', 'i2'], category: ['news', 'sport'], tags: [['x', 'y'], []] });
    expect(ds.events).toEqual({
      user: Int32Array.from([0, 1, 2]),
      item: Int32Array.from([0, 1, 0]),
      timestamp: Float64Array.from([1700000000, 1700000001, 1700000002]),
      label: Uint8Array.from([1, 0, 1]),
    });
  });

  it('accepts CRLF line endings, a byte-order mark, blank lines and a positives-only events file', async () => {
    const crlf = (s: string) => s.replace(/\n/g, '\r\n');
    const dir = await fixture({
      ...VALID_FILES,
      'users.csv': '\uFEFF' + crlf(VALID_FILES['users.csv']!),
      'items.csv': VALID_FILES['items.csv']! + '\n\n',
      'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,5,1\n\nu3,i2,6,1\n',
    });
    const ds = await readDataset(dir);
    expect(ds.users.ids).toEqual(['u1', 'u2', 'u3']);
    expect(ds.users.fields.get('city')!.values[2]).toBe('Washington, D.C.');
    expect(Array.from(ds.events.label)).toEqual([1, 1]);
  });

  it('fingerprints the raw bytes: any change to any file changes it', async () => {
    const base = (await readDataset(await fixture(VALID_FILES))).fingerprint;
    expect((await readDataset(await fixture(VALID_FILES))).fingerprint).toBe(base);
    for (const file of DATASET_FILES) {
      const changed = { ...VALID_FILES, [file]: VALID_FILES[file] + '\n' };
      expect((await readDataset(await fixture(changed))).fingerprint).not.toBe(base);
    }
  });

  it('hashes exactly the bytes on disk', async () => {
    const dir = await fixture(VALID_FILES);
    const ds = await readDataset(dir);
    const { createHash } = await import('node:crypto');
    const manifest = (
      await Promise.all(
        DATASET_FILES.map(async (f) => `${createHash('sha256').update(await readFile(join(dir, f))).digest('hex')}  ${f}\n`),
      )
    ).join('');
    expect(ds.fingerprint).toBe(`sha256:${createHash('sha256').update(manifest).digest('hex')}`);
  });
});

async function fixture(files: Record<string, string>): Promise<string> {
  const dir = await dirs.make();
  await writeFiles(dir, files);
  return dir;
}
