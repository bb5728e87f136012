import { importToDir, synthesizeToDir, synthesizeV2ToDir } from '@ralm/data';

/** `ralm data synth`: a deterministic synthetic dataset (docs/DATA.md). */
export async function synthCommand(o: { users: number; items: number; seed: number; generator?: 'v1' | 'v2'; out: string; write: (l: string) => void }): Promise<number> {
  for (const [flag, v] of [['--users', o.users], ['--items', o.items]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      o.write(`ralm data synth: ${flag} must be a positive integer, got ${v}`);
      return 2;
    }
  }
  if (!Number.isSafeInteger(o.seed)) {
    o.write(`ralm data synth: --seed must be an integer, got ${o.seed}`);
    return 2;
  }
  const started = Date.now();
  const options = { users: o.users, items: o.items, seed: o.seed };
  const d = o.generator === 'v1' ? await synthesizeToDir(options, o.out) : await synthesizeV2ToDir(options, o.out);
  const clicks = d.events.label.reduce((a, b) => a + b, 0);
  o.write(`${o.out}: ${d.users.ids.length} users, ${d.items.ids.length} items, ${d.events.user.length} events (${clicks} clicks), ${d.fingerprint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

/** `ralm data import`: MovieLens or the Tencent 2018 look-alike layout into the dataset format. */
export async function importCommand(o: { kind: 'movielens' | 'tencent'; input: string; out: string; readThreshold?: number; write: (l: string) => void }): Promise<number> {
  const d = await importToDir(o.kind, o.input, o.out, o.readThreshold !== undefined ? { readThreshold: o.readThreshold } : {});
  o.write(`${o.out}: ${d.users} users, ${d.items} items, ${d.events} events (${d.positives} reads), ${d.fingerprint}`);
  return 0;
}
