/**
 * The model slot on the in-memory bus with a fake loader: following the newest
 * model, and pinned to one version (MODEL_VERSION).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { createMemoryBus, createModelSlot, Subjects, type EventBus, type ModelSlot } from '@ralm/platform';

interface FakeModel {
  version: string;
  /** Which load produced it, to tell a reload from the same object. */
  loadedFrom: string;
}

const ROOT = '/models';

/** Model directories under ROOT: directory name -> the version its files hold. */
function fakeFiles(dirs: Record<string, string>) {
  const loads: string[] = [];
  const load = async (location: string): Promise<FakeModel> => {
    loads.push(location);
    const dir = location.startsWith(`${ROOT}/`) ? location.slice(ROOT.length + 1) : undefined;
    const version = dir === undefined ? undefined : dirs[dir];
    if (version === undefined) throw new Error(`ENOENT: no such file or directory, open '${location}/manifest.json'`);
    return { version, loadedFrom: location };
  };
  return { loads, load };
}

function capturingLogger() {
  const lines: Array<Record<string, unknown> & { msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const published = (version: string) => ({
  modelVersion: version,
  artifactUri: `${ROOT}/${version}`,
  userDim: 8,
  lookalikeDim: 4,
  publishedAtMs: 0,
  metrics: {},
});

describe('model slot', () => {
  let bus: EventBus;
  let slot: ModelSlot<FakeModel> | undefined;
  beforeEach(() => {
    bus = createMemoryBus();
    slot = undefined;
  });
  afterEach(async () => {
    await slot?.stop();
    await bus.close();
  });

  function makeSlot(dirs: Record<string, string>, options: { pinned?: string; newest?: string } = {}) {
    const files = fakeFiles(dirs);
    const { lines, logger } = capturingLogger();
    const swaps: Array<[string, string | undefined]> = [];
    slot = createModelSlot<FakeModel>({
      bus,
      logger,
      durable: 'model-slot-test',
      load: files.load,
      initial: async () => (options.newest === undefined ? undefined : `${ROOT}/${options.newest}`),
      locate: (version) => `${ROOT}/${version}`,
      pinned: options.pinned,
      onSwap: (next, previous) => void swaps.push([next.version, previous?.version]),
    });
    return { slot, loads: files.loads, lines, swaps };
  }

  it('unpinned: serves the newest at start and swaps to each published model', async () => {
    const { slot, swaps } = makeSlot({ v1: 'v1', v2: 'v2', v3: 'v3' }, { newest: 'v2' });
    await slot.start();
    expect(slot.current()?.version).toBe('v2');
    await bus.publish(Subjects.modelPublished, published('v3'));
    await waitFor('v3 swapped in', () => slot.current()?.version === 'v3');
    // An older version published late is still what the trainer announced: followed too.
    await bus.publish(Subjects.modelPublished, published('v1'));
    await waitFor('v1 swapped in', () => slot.current()?.version === 'v1');
    expect(swaps).toEqual([
      ['v2', undefined],
      ['v3', 'v2'],
      ['v1', 'v3'],
    ]);
  });

  it('unpinned: a published model that fails to load is skipped, and the next one still loads', async () => {
    const { slot, lines } = makeSlot({ v1: 'v1', v3: 'v3' }, { newest: 'v1' });
    await slot.start();
    await bus.publish(Subjects.modelPublished, published('v2')); // no such directory
    await bus.publish(Subjects.modelPublished, published('v3'));
    await waitFor('v3 swapped in after the failed v2', () => slot.current()?.version === 'v3');
    expect(JSON.stringify(lines)).toContain('published model not loaded; keeping the current one');
  });

  it('pinned: serves exactly the pinned version and ignores other published versions, logging each once', async () => {
    const { slot, loads, lines } = makeSlot({ v1: 'v1', v2: 'v2', v3: 'v3' }, { pinned: 'v1', newest: 'v3' });
    await slot.start();
    expect(slot.current()).toEqual({ version: 'v1', loadedFrom: `${ROOT}/v1` });
    for (const version of ['v2', 'v3', 'v2', 'v1', 'v4']) await bus.publish(Subjects.modelPublished, published(version));
    const skips = () => lines.filter((l) => l.msg.startsWith('pinned to v1; not loading'));
    // Delivered in order: the last skip logged means every earlier event was handled.
    await waitFor('v4 ignored', () => skips().some((l) => l.msg === 'pinned to v1; not loading v4'));
    expect(skips().map((l) => [l.msg, l['level']])).toEqual([
      ['pinned to v1; not loading v2', 30],
      ['pinned to v1; not loading v3', 30],
      ['pinned to v1; not loading v4', 30],
    ]);
    expect(loads).toEqual([`${ROOT}/v1`]);
    expect(slot.current()?.version).toBe('v1');
  });

  it('pinned: start fails when the pinned version is not under the model root', async () => {
    const { slot } = makeSlot({ v1: 'v1' }, { pinned: 'v9', newest: 'v1' });
    const err = await slot.start().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PinnedModelError', code: 'PINNED_MODEL_NOT_LOADED', version: 'v9', location: `${ROOT}/v9` });
    expect((err as Error).message).toContain('ENOENT');
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(slot.current()).toBeUndefined();
  });

  it('pinned: start fails when the directory holds another version', async () => {
    const { slot } = makeSlot({ v1: 'v2' }, { pinned: 'v1' });
    await expect(slot.start()).rejects.toMatchObject({ name: 'PinnedModelError', message: expect.stringContaining("holds version 'v2'") });
    expect(slot.current()).toBeUndefined();
  });

  it('an empty pin means unpinned', async () => {
    const { slot } = makeSlot({ v1: 'v1', v2: 'v2' }, { pinned: '', newest: 'v1' });
    await slot.start();
    await bus.publish(Subjects.modelPublished, published('v2'));
    await waitFor('v2 swapped in', () => slot.current()?.version === 'v2');
  });
});
