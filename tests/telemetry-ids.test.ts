/**
 * Telemetry without identities: a mesh traced with the console exporter and logging at
 * info is driven with user, item and event ids carrying a marker — including refusals
 * whose status texts quote them — and what it printed (every exported span and every
 * log line) is scanned for the marker.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..');

function run(env: NodeJS.ProcessEnv, marker: string) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(__dirname, 'support', 'traced-mesh.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, TRACED_MESH_MARKER: marker, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`traced mesh failed (${r.status}): ${r.stderr.slice(-3000)}`);
  return r.stdout;
}

describe('exported traces and info logs', () => {
  let out: string;
  beforeAll(() => {
    out = run({ OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100' }, 'Zq7Marker');
  });

  it('were produced: spans of the gRPC calls and the bus deliveries, and log lines', () => {
    expect(out).toMatch(/traced-mesh done \(exporting: true\)/);
    expect(out).toContain('ralm.v1.SeedCollectorService/ReportClicks');
    expect(out).toContain('ralm.v1.SeedCollectorService/GetSeedStats');
    expect(out).toMatch(/ralm\.v1\.click\.recorded process/);
    expect((out.match(/traceId:/g) ?? []).length).toBeGreaterThan(10);
    expect(out).toMatch(/"msg":"service started"/);
    // The failed calls are there, marked failed, without their texts.
    expect(out).toMatch(/status: \{ code: 2 \}/);
  });

  it('carry none of the ids', () => {
    const leaks = out.split('\n').filter((line) => line.includes('Zq7Marker'));
    expect(leaks).toEqual([]);
  });
});

describe('debug logs', () => {
  it('keep the ids, for an operator who turns them on', () => {
    const out = run({ TRACED_MESH_LOG_LEVEL: 'debug' }, 'Dbg4Marker');
    expect(out).toMatch(/traced-mesh done \(exporting: false\)/);
    expect(out).toMatch(/"level":20,[^\n]*cand-Dbg4Marker-404/);
    // Info lines of the same run still do not.
    expect(out.split('\n').filter((l) => l.includes('"level":30') && l.includes('Dbg4Marker'))).toEqual([]);
  });
});
