import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Training is CPU-bound and the suite runs two workers on two cores: a generous safety net, not a speed check.
jest.setTimeout(180_000);


const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'apps/ralm/bin/ralm.js');
const env = (extra: NodeJS.ProcessEnv) => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...extra });

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (pattern.test(out)) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before ${pattern}; output:\n${out}`)));
  });
}

describe('the ralm command', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-cli-'));
  const meshFile = path.join(dir, 'mesh.json');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('up records the mesh, status reports all five SERVING, and Ctrl-C stops it', async () => {
    const up = spawn(process.execPath, [BIN, 'up', '--mesh-file', meshFile, '--log-level', 'warn'], { cwd: ROOT, env: env({ RALM_PORT_BASE: '0' }) });
    try {
      await waitForOutput(up, /Ctrl-C to stop/);
      const status = spawnSync(process.execPath, [BIN, 'status', '--mesh-file', meshFile], { cwd: ROOT, env: env({}), encoding: 'utf8' });
      expect(status.status).toBe(0);
      for (const name of ['user-embedding', 'seed-collector', 'clusterer', 'lookalike-scorer', 'trainer']) {
        expect(status.stdout).toMatch(new RegExp(`${name}\\s+127\\.0\\.0\\.1:\\d+\\s+SERVING`));
      }
      const stopped = waitForOutput(up, /stopped\n/);
      up.kill('SIGINT');
      await stopped;
      expect(fs.existsSync(meshFile)).toBe(false);
    } finally {
      up.kill('SIGKILL');
    }
  });

  it('status without a running mesh says how to start one and exits 1', () => {
    const status = spawnSync(process.execPath, [BIN, 'status', '--mesh-file', path.join(dir, 'none.json')], { cwd: ROOT, env: env({}), encoding: 'utf8' });
    expect(status.status).toBe(1);
    expect(status.stderr).toMatch(/start one with `npx ralm up`/);
  });

  it('repair salvages a damaged bus journal, reports a truncated LMDB store, and exits 1 until nothing is left damaged', async () => {
    const { openMemoryBus, openLmdbStore } = await import('@ralm/platform');
    const stateDir = path.join(dir, 'damaged-state');
    const bus = await openMemoryBus({ journalDir: path.join(stateDir, 'bus') });
    const subject = { name: 'ralm.v1.test.repair', encode: (s: string) => Buffer.from(s), decode: (b: Uint8Array) => Buffer.from(b).toString() };
    for (let i = 0; i < 10; i++) await bus.publish(subject, `message-${i}`);
    await bus.close();
    const journal = path.join(stateDir, 'bus', 'journal');
    const bytes = fs.readFileSync(journal);
    bytes[bytes.indexOf('message-4') + 8] = 0x21;
    fs.writeFileSync(journal, bytes);
    const store = await openLmdbStore({ dir: path.join(stateDir, 'clusterer') });
    for (let i = 0; i < 100; i++) await store.put(`k${i}`, new Uint8Array(4000));
    await store.close();
    const mdb = path.join(stateDir, 'clusterer', 'data.mdb');
    fs.truncateSync(mdb, Math.floor(fs.statSync(mdb).size / 2));
    const repair = () => spawnSync(process.execPath, [BIN, 'repair', '--state-dir', stateDir], { cwd: ROOT, env: env({}), encoding: 'utf8' });
    const first = repair();
    expect(first.stdout).toMatch(/bus journal .*journal: repaired; 9 messages kept, lost sequences 5 \(placeholders keep the numbering\)/);
    expect(first.stdout).toMatch(/state store .*clusterer: DAMAGED: lmdb state store .* is truncated/);
    expect(first.status).toBe(1);
    fs.rmSync(path.join(stateDir, 'clusterer'), { recursive: true });
    const second = repair();
    expect(second.stdout).toMatch(/bus journal .*journal: intact/);
    expect(second.status).toBe(0);
  });

  it('demo tells the story end to end: trained, servable after the 100th clicker, scored with reasons, stopped cleanly', () => {
    const demo = spawnSync(process.execPath, [BIN, 'demo'], { cwd: ROOT, env: env({}), encoding: 'utf8', timeout: 150_000 });
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/model \S+ trained and published/);
    expect(demo.stdout.match(/at 99 seeds Score says TOO_FEW_SEEDS; servable \d+ ms after its 100th clicker/g)).toHaveLength(3);
    expect(demo.stdout.match(/why: α·cos_glb/g)?.length).toBeGreaterThanOrEqual(3);
    expect(demo.stdout).toMatch(/scored from the profile it sent .*embedding source FEATURES/);
    expect(demo.stdout).toMatch(/200 users in 4 pages, of \d+ ranked \(\d+ seeds left out\)/);
    expect(demo.stdout).toMatch(/why \S+: α·cos_glb .* \(Explain\); its strongest cluster/);
    expect(demo.stdout).toMatch(/Mesh stopped cleanly/);
  });

  it('traces the demo as service ralm-mesh when the OTEL_* variables ask for spans', () => {
    const demo = spawnSync(process.execPath, [BIN, 'demo'], {
      cwd: ROOT,
      env: env({ OTEL_TRACES_EXPORTER: 'console' }),
      encoding: 'utf8',
      timeout: 150_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(demo.status).toBe(0);
    // The console exporter prints each span: client and server side of every call the demo makes.
    expect(demo.stdout).toMatch(/'service\.name': 'ralm-mesh'/);
    expect(demo.stdout).toMatch(/name: 'grpc\.ralm\.v1\.SeedCollectorService\/RegisterCandidate'/);
    expect(demo.stdout).toMatch(/name: 'grpc\.ralm\.v1\.LookalikeScorerService\/Score'/);
  });
});
