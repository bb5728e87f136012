/**
 * Training throughput of both phases for the reference configuration
 * (6 fields, d = h = 128, 20,000 items, batch 256) on each tfjs backend
 * available here. Prints samples/s and the ratios between backends, measured
 * in one run (shared machines are noisy: compare within a run).
 *
 *   npx tsx bench/train.ts [--users N] [--backends wasm,cpu] [--batches N]
 */
import os from 'node:os';
import { synthesize } from '@ralm/data';
import { DEFAULT_MODEL_CONFIG, selectBackend, train, type Progress } from '@ralm/model';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const users = Number(arg('users', '12000'));
const backends = arg('backends', 'wasm,cpu').split(',') as Array<'wasm' | 'cpu'>;
/** Batches timed per phase after the warm-up ones (the first batches pay for kernel compilation and allocation). */
const timed = Number(arg('batches', '30'));
const warmup = 3;

async function measure(backend: 'wasm' | 'cpu') {
  await selectBackend(backend);
  const dataset = synthesize({ users, items: 20_000, seed: 2026 });
  const marks: Record<Progress['phase'], { t0?: number; n0?: number; t1?: number; n1?: number }> = { user_representation: {}, lookalike: {} };
  const abort = new AbortController();
  const config = { ...DEFAULT_MODEL_CONFIG, phase1Epochs: 1, phase2Epochs: 1, seed: 1 };
  let lastPhase1 = 0;
  let firstPhase2 = 0;
  await train(dataset, config, {
    signal: abort.signal,
    onProgress: (p) => {
      const m = marks[p.phase];
      const samples = p.batch * config.batchSize;
      if (p.phase === 'user_representation') lastPhase1 = performance.now();
      else if (!firstPhase2) firstPhase2 = performance.now();
      if (p.batch === warmup) Object.assign(m, { t0: performance.now(), n0: samples });
      if (p.batch === warmup + timed || (p.batch === p.batches && m.t1 === undefined && p.batch > warmup)) {
        Object.assign(m, { t1: performance.now(), n1: samples });
        if (p.phase === 'lookalike') abort.abort(new Error('measured'));
      }
    },
  }).catch((err: Error) => {
    if (err.message !== 'measured') throw err;
  });
  const rate = (m: (typeof marks)['lookalike']) => (m.t1 && m.t0 ? ((m.n1! - m.n0!) * 1000) / (m.t1 - m.t0) : Number.NaN);
  return { backend, phase1: rate(marks.user_representation), phase2: rate(marks.lookalike), betweenSeconds: (firstPhase2 - lastPhase1) / 1000 };
}

(async () => {
  console.log(`bench/train: ${os.cpus().length} cores (${os.cpus()[0]?.model}), node ${process.version}`);
  console.log(`reference config: 6 fields, d = h = 128, m = 32, 20,000 items, ${users} users, batch 256, k = 20; ${timed} timed batches per phase after ${warmup} warm-up`);
  const results = [];
  for (const b of backends) {
    const r = await measure(b);
    results.push(r);
    console.log(
      `${b.padEnd(5)} phase 1: ${r.phase1.toFixed(0).padStart(6)} samples/s   phase 2: ${r.phase2.toFixed(0).padStart(6)} samples/s   ` +
        `between phases (phase-1 validation, embedding every user, first k-means of every item's seeds): ${r.betweenSeconds.toFixed(1)} s`,
    );
  }
  const wasm = results.find((r) => r.backend === 'wasm');
  const cpu = results.find((r) => r.backend === 'cpu');
  if (wasm && cpu) console.log(`wasm / cpu: phase 1 ×${(wasm.phase1 / cpu.phase1).toFixed(1)}, phase 2 ×${(wasm.phase2 / cpu.phase2).toFixed(1)}`);
  if (wasm) console.log(`targets on wasm: phase 1 ≥ 2,000 samples/s (${wasm.phase1 >= 2000 ? 'met' : 'NOT met'}), phase 2 ≥ 500 samples/s (${wasm.phase2 >= 500 ? 'met' : 'NOT met'})`);
})();
