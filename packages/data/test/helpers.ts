import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary folder per test file, removed by `cleanup`. */
export function tempDirs() {
  const made: string[] = [];
  return {
    async make(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'ralm-data-'));
      made.push(dir);
      return dir;
    },
    async cleanup(): Promise<void> {
      await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** A small valid dataset, as file texts; tests override one file to break it. */
export const VALID_FILES: Record<string, string> = {
  'schema.json': JSON.stringify(
    {
      fields: [
        { name: 'tags', kind: 'multivalent' },
        { name: 'city', kind: 'univalent' },
        { name: 'age', kind: 'continuous' },
      ],
    },
    null,
    2,
  ),
  'users.csv': 'user_id,tags,city,age\nu1,a|b,paris,31\nu2,,,\nu3,c,"Washington, D.C.",47.5\n',
  'items.csv': 'item_id,category,tags\ni1,news,x|y\ni2,sport,\n',
  'events.csv': 'user_id,item_id,timestamp,label\nu1,i1,1700000000,1\nu2,i2,1700000001,0\nu3,i1,1700000002,1\n',
};

export async function writeFiles(dir: string, files: Record<string, string | undefined>): Promise<void> {
  for (const [name, text] of Object.entries(files)) if (text !== undefined) await writeFile(join(dir, name), text);
}
