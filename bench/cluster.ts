/**
 * Clustering a candidate's seeds as the Clusterer does (k = 20 on look-alike
 * embeddings, h = 128): sampled k-means (`scalableKmeans`: k-means++, Lloyd and
 * split–merge moves on a sample, then full passes) against the same fit on every
 * point, on a seeded mixture of 20 Gaussians plus background noise, for 100,000
 * and 3,000,000 points on one core, and the streaming form
 * the Clusterer uses (fitSample on a sample, then AssignmentAccumulator over
 * batches with a companion vector per point). Prints seconds, points/s and the
 * inertia ratio sampled / full, then the assignment kernel alone against the
 * naive per-pair loop, a tfjs-wasm matMul and the native OpenBLAS sgemm kernel the k-means
 * runs when the addon is built. Figures compare only within one
 * run (shared machines are noisy).
 *
 * With --peers, scikit-learn's MiniBatchKMeans and KMeans (Debian python3-sklearn, one thread) run
 * on the same points in the same run, and the ratios are printed (`make bench-cluster`); then
 * RALM and MiniBatchKMeans once from each of --seeds, for the spread of both. Last, what the
 * split–merge moves cost on candidate-sized sets (--small), drawn from the largest size.
 *
 *   npx tsx bench/cluster.ts [--sizes 100000,3000000] [--full-iterations 12] [--sample 30000] [--passes 1,2] [--small 200,1000,5000] [--peers [--seeds 1,2,3]]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AssignmentAccumulator, Rng, fitSample, gatherRows, sampleIndices, scalableKmeans } from '@ralm/model';
import { selectBackend, tf } from '@ralm/model/backend';
import { assignNearest, nearestCentroids, nearestCentroidsReference } from '@ralm/model/kmeans-scalable';
import { nativeNearestCentroids } from '@ralm/kernel';
import { arg, percentile, timed } from './common';


const sizes = arg('sizes', '100000,3000000').split(',').map(Number);
const dim = 128;
const k = 20;
/** Lloyd rounds of the full reference above 100,000 points, where each round is a full pass. */
const fullIterations = Number(arg('full-iterations', '12'));
const sampleSize = Number(arg('sample', '30000'));
/** Full passes after the fit, one sampled run each (scalableKmeans's `passes`). */
const passes = arg('passes', '1,2').split(',').map(Number);
/** Seeds in the assignment sample (the Clusterer's CLUSTER_ASSIGN_SAMPLE_SIZE). */
const assignSample = Number(arg('assign-sample', '200000'));
/** Points in the kernel comparison. */
const kernelPoints = 100_000;

/**
 * n points in one Float32Array: 20 centres drawn N(0, 0.5²) per coordinate
 * (centres ≈ 8 apart against a within-cluster spread of √128 ≈ 11), unequal
 * weights, unit-variance members, and 2% background points N(0, 2²).
 */
function mixture(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const centres = new Float32Array(k * dim).map(() => 0.5 * rng.normal());
  const weights = Array.from({ length: k }, () => 0.5 + rng.next());
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = weights.map(((s) => (w: number) => (s += w / total))(0));
  const points = new Float32Array(n * dim);
  // Box–Muller, both outputs used: generation is not timed but 3M × 128 normals add up.
  let spare = Number.NaN;
  const normal = () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = Number.NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const a = 2 * Math.PI * rng.next();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    if (rng.next() < 0.02) {
      for (let t = 0; t < dim; t++) points[o + t] = 2 * normal();
      continue;
    }
    const u = rng.next();
    let c = cumulative.findIndex((x) => u < x);
    if (c < 0) c = k - 1;
    for (let t = 0; t < dim; t++) points[o + t] = centres[c * dim + t]! + normal();
  }
  return points;
}


/** The tfjs-wasm variant: dots = X · Cᵀ by XNNPACK (centroids pre-transposed: transposeB leaves its fast path), argmin in JS. */
function nearestWasm(points: Float32Array, n: number, centroids: Float32Array, assignments: Int32Array, distances: Float64Array, batch = 4096): void {
  const norms = new Float64Array(k);
  for (let j = 0; j < k; j++) for (let t = 0; t < dim; t++) norms[j] += centroids[j * dim + t]! ** 2;
  const cT = tf.tidy(() => tf.tensor2d(centroids, [k, dim]).transpose().clone());
  for (let start = 0; start < n; start += batch) {
    const m = Math.min(batch, n - start);
    const dots = tf.tidy(() => tf.matMul(tf.tensor2d(points.subarray(start * dim, (start + m) * dim), [m, dim]), cT));
    const d = dots.dataSync();
    dots.dispose();
    for (let i = 0; i < m; i++) {
      const o = (start + i) * dim;
      let x = 0;
      for (let t = 0; t < dim; t++) x += points[o + t]! * points[o + t]!;
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        const dd = x - 2 * d[i * k + j]! + norms[j]!;
        if (dd < bestD) {
          bestD = dd;
          best = j;
        }
      }
      assignments[start + i] = best;
      distances[start + i] = Math.max(0, bestD);
    }
  }
  cT.dispose();
}

/**
 * What the Clusterer does with seeds it fetches in batches: a seeded uniform
 * sample fitted in memory, then one pass of batches of 10,000 through the
 * accumulator. The batch's own rows stand in for its companion vectors
 * (universal embeddings, d = 128): the cost is the same, with no second 1.5 GB array.
 */
function streamedKmeans(points: Float32Array, n: number) {
  const rng = new Rng(1);
  const m = Math.min(sampleSize, n);
  const sample = gatherRows(points, sampleIndices(n, m, rng), dim);
  const fit = timed(() => fitSample(sample, dim, k, rng));
  const accumulator = new AssignmentAccumulator(fit.value.centroids, fit.value.k, dim, dim);
  for (let start = 0; start < n; start += 10_000) {
    const batch = points.subarray(start * dim, Math.min(n, start + 10_000) * dim);
    accumulator.add(batch, batch);
  }
  // The Clusterer past CLUSTER_ASSIGN_SAMPLE_SIZE: the same fit, assigned on a uniform sample only.
  const a = Math.min(assignSample, n);
  const sampled = new AssignmentAccumulator(fit.value.centroids, fit.value.k, dim, dim);
  const order = sampleIndices(n, a, new Rng(2));
  for (let start = 0; start < a; start += 10_000) {
    const rows = gatherRows(points, order.subarray(start, start + 10_000), dim);
    sampled.add(rows, rows);
  }
  return { ...accumulator.result(), iterations: fit.value.iterations, fitSeconds: fit.seconds, assigned: sampled.result(), assignedOf: a };
}

/** How far the sample-assigned clusters are from the fully assigned ones: inertia ratio (scaled), largest centroid shift over the RMS radius, largest size error. */
function assignmentError(full: ReturnType<typeof streamedKmeans>, n: number) {
  const part = full.assigned;
  const scale = n / full.assignedOf;
  const rms = Math.sqrt(full.inertia / n);
  let shift = 0;
  let sizeError = 0;
  for (let c = 0; c < full.k; c++) {
    // Same fitted centroids, so cluster c is the same cluster in both (when neither is empty).
    let d2 = 0;
    for (let j = 0; j < dim; j++) d2 += (part.companionMeans[c * dim + j]! - full.companionMeans[c * dim + j]!) ** 2;
    shift = Math.max(shift, Math.sqrt(d2) / rms);
    sizeError = Math.max(sizeError, Math.abs(part.sizes[c]! * scale - full.sizes[c]!) / full.sizes[c]!);
  }
  return { inertiaRatio: (part.inertia * scale) / full.inertia, shift, sizeError, k: part.k === full.k };
}

/** With --peers: scikit-learn's MiniBatchKMeans and KMeans on the same points (bench/peers/kmeans.py; `make bench-cluster` installs python3-sklearn). */
const peers = process.argv.includes('--peers');
const peerRows: string[] = [];
/** With --peers: random states both sides run from, for the spread table (1 = that table is skipped). */
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const spreadRows: string[] = [];

/** RALM's sampled k-means with one number of full passes: what each peer is compared with. */
interface Ours {
  passes: number;
  seconds: number;
  inertia: number;
}

interface PeerRun {
  method: string;
  seconds: number;
  inertia: number;
  rounds: number;
  sklearn: string;
}

/** scikit-learn's `methods` on points already written to `file`, with one random_state; the reason when it cannot run. */
function sklearnRun(file: string, n: number, seed: number, methods: string[]): PeerRun[] | string {
  const run = spawnSync('/usr/bin/python3', [path.join(__dirname, 'peers', 'kmeans.py'), file, String(n), String(dim), String(k), String(seed), methods.join(',')], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) return run.stderr.trim().split('\n').pop() ?? 'did not run';
  return run.stdout.trim().split('\n').map((line) => JSON.parse(line) as PeerRun);
}

/**
 * RALM's sampled k-means and MiniBatchKMeans from each of `seeds` (one init each, as in the
 * table above), so the inertia comparison is not one draw against one draw. Random state 1
 * reuses the runs of that table instead of running them again.
 */
function seedSpread(points: Float32Array, n: number, file: string, state1: { ralm?: Ours; minibatch?: PeerRun }): string[] {
  const ralm = seeds.map((seed) => {
    if (seed === 1 && state1.ralm) return state1.ralm;
    const run = timed(() => scalableKmeans(points, dim, k, new Rng(seed), { sampleSize }));
    return { seconds: run.seconds, inertia: run.value.inertia };
  });
  const runs = seeds.map((seed) => {
    if (seed === 1 && state1.minibatch) return state1.minibatch;
    const run = sklearnRun(file, n, seed, ['minibatch']);
    return typeof run === 'string' ? undefined : run[0];
  });
  const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(2)} / ${percentile(xs, 0.5).toFixed(2)} / ${Math.max(...xs).toFixed(2)}`;
  const rows = [`| ${n.toLocaleString()} | RALM sampled k-means, 1 pass | ${fmt(ralm.map((r) => r.seconds))} | ${fmt(ralm.map((r) => r.inertia / n))} |`];
  if (runs.every((r) => r)) rows.push(`| ${n.toLocaleString()} | sklearn ${runs[0]!.sklearn} MiniBatchKMeans | ${fmt(runs.map((r) => r!.seconds))} | ${fmt(runs.map((r) => r!.inertia / n))} |`);
  return rows;
}

function sklearnPeers(points: Float32Array, n: number, ours: Ours[]): string[] {
  const file = path.join(os.tmpdir(), `ralm-bench-kmeans-${process.pid}.f32`);
  fs.writeFileSync(file, Buffer.from(points.buffer, points.byteOffset, points.byteLength));
  try {
    // Full KMeans at 3M points is two minutes a run: once is enough to place it.
    const runs = sklearnRun(file, n, 1, ['minibatch', 'kmeans']);
    if (typeof runs === 'string') {
      console.log(`scikit-learn unavailable (${runs}); \`make bench-cluster\` installs python3-sklearn`);
      return [];
    }
    if (seeds.length > 1) spreadRows.push(...seedSpread(points, n, file, { ralm: ours.find((o) => o.passes === 1), minibatch: runs.find((r) => r.method === 'minibatch') }));
    return runs.map((r) => {
      const name = `sklearn ${r.sklearn} ${r.method === 'minibatch' ? 'MiniBatchKMeans' : 'KMeans (lloyd)'}, ${r.rounds} rounds`;
      const against = ours.map((o) => `×${(o.seconds / r.seconds).toFixed(2)}, ${(o.inertia / r.inertia).toFixed(4)}`);
      return `| ${n.toLocaleString()} | ${name} | ${r.seconds.toFixed(2)} | ${(r.inertia / n).toFixed(2)} | ${against.join(' | ')} |`;
    });
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Candidate sizes the Clusterer fits whole (no sample), for what the split–merge moves cost there. */
const smallSets = arg('small', '200,1000,5000').split(',').map(Number).filter((m) => m > 0);

/**
 * What the moves cost a Clusterer job: `fitSample` as cluster-seeds runs it (tolerance 1e-4)
 * with CLUSTER_SWAPS = 0 and with the default, one init from each of ten random states on a
 * uniform subset of the points, mean milliseconds and mean inertia per point.
 */
function smallSetCost(points: Float32Array, n: number): string[] {
  return smallSets.map((m) => {
    const sample = gatherRows(points, sampleIndices(n, m, new Rng(99)), dim);
    const measure = (swaps: number | undefined) => {
      let ms = 0;
      let inertia = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const t = timed(() => fitSample(sample, dim, k, new Rng(seed), { tolerance: 1e-4, swaps }));
        ms += t.seconds * 100;
        const out = { assignments: new Int32Array(m), distances: new Float64Array(m) };
        assignNearest(sample, m, dim, t.value.centroids, t.value.k, out);
        inertia += out.distances.reduce((a, b) => a + b, 0) / m / 10;
      }
      return { ms, inertia };
    };
    measure(0); // warm-up: the first fits pay for compiling the loops
    const [plain, moved] = [measure(0), measure(undefined)];
    return `| ${m.toLocaleString()} | ${plain.ms.toFixed(1)} | ${moved.ms.toFixed(1)} | ×${(moved.ms / plain.ms).toFixed(2)} | ${plain.inertia.toFixed(2)} | ${moved.inertia.toFixed(2)} | ${(moved.inertia / plain.inertia).toFixed(4)} |`;
  });
}

(async () => {
  console.log(`bench/cluster: ${os.cpus().length} cores (${os.cpus()[0]?.model}), node ${process.version}; single thread`);
  console.log(`mixture of ${k} Gaussians + 2% noise, dim ${dim}, k = ${k}; sampled k-means: ${sampleSize.toLocaleString()}-point sample, k-means++ + Lloyd (≤ 25 rounds) + split–merge moves, then ${passes.join(' or ')} full assignment pass(es)`);
  const rows: string[] = [];
  const smallRows: string[] = [];
  let kernelData: { points: Float32Array; centroids: Float32Array } | undefined;
  for (const n of sizes) {
    const gen = timed(() => mixture(n, 2026));
    console.log(`n = ${n.toLocaleString()}: generated in ${gen.seconds.toFixed(1)} s`);
    const points = gen.value;
    const variants = passes.map((p) => ({ passes: p, run: timed(() => scalableKmeans(points, dim, k, new Rng(1), { sampleSize, passes: p })) }));
    const sampled = variants[0]!.run;
    const streamed = timed(() => streamedKmeans(points, n));
    const cap = n > 100_000 ? fullIterations : 25;
    const full = timed(() => scalableKmeans(points, dim, k, new Rng(1), { sampleSize: n, maxIterations: cap }));
    const row = (name: string, seconds: number, r: { inertia: number; iterations: number }) =>
      `| ${n.toLocaleString()} | ${name} | ${seconds.toFixed(2)} | ${Math.round(n / seconds).toLocaleString()} | ${r.iterations} | ${r.inertia.toExponential(4)} | ${(r.inertia / full.value.inertia).toFixed(4)} |`;
    rows.push(
      ...variants.map((v) => row(`sampled (scalableKmeans), ${v.passes} full pass${v.passes > 1 ? 'es' : ''}`, v.run.seconds, v.run.value)),
      row(`streamed: fit ${streamed.value.fitSeconds.toFixed(2)} s + pass ${(streamed.seconds - streamed.value.fitSeconds).toFixed(2)} s`, streamed.seconds, streamed.value),
      row(`full Lloyd + split–merge moves, fast kernel, ≤ ${cap} rounds a run`, full.seconds, full.value),
    );
    console.log(rows.slice(-2 - variants.length).join('\n'));
    const err = assignmentError(streamed.value, n);
    const moved = (m: number) => `${((m * (dim + dim) * 4) / 2 ** 30).toFixed(2)} GiB`;
    console.log(
      `assignment on a ${Math.min(assignSample, n).toLocaleString()}-seed sample (same fit): inertia ${err.inertiaRatio.toFixed(4)} × the full pass's, largest centroid shift ${err.shift.toFixed(4)} RMS radii, largest size error ${(err.sizeError * 100).toFixed(2)} %, same clusters: ${err.k}; embeddings moved ${moved(Math.min(assignSample, n) + sampleSize)} instead of ${moved(n + sampleSize)}`,
    );
    const ours = variants.map((v) => ({ passes: v.passes, seconds: v.run.seconds, inertia: v.run.value.inertia }));
    if (peers) peerRows.push(...sklearnPeers(points, n, ours));
    if (smallSets.length > 0 && n === sizes[sizes.length - 1]) smallRows.push(...smallSetCost(points, n));
    if (!kernelData) kernelData = { points: points.slice(0, Math.min(n, kernelPoints) * dim), centroids: sampled.value.centroids };
    if (n >= 3_000_000) console.log(`target: 3,000,000 seeds in < 10 s on one core: ${sampled.seconds < 10 ? 'met' : 'NOT met'} (${sampled.seconds.toFixed(1)} s)`);
  }
  console.log('\n| n | method | seconds | points/s | rounds | inertia | inertia / full |\n|---|---|---|---|---|---|---|');
  console.log(rows.join('\n'));
  if (peers) {
    console.log('\nscikit-learn on the same points in the same run (one thread), against RALM\'s sampled k-means:');
    const heads = passes.map((p) => `RALM, ${p} pass${p > 1 ? 'es' : ''}: seconds / this, inertia / this`);
    console.log(`| n | method | seconds | inertia / n | ${heads.join(' | ')} |\n|---|---|---|---|${heads.map(() => '---|').join('')}`);
    console.log(peerRows.join('\n'));
    if (spreadRows.length > 0) {
      console.log(`\none init from each random state ${seeds.join(', ')} on both sides, same points: min / median / max`);
      console.log('| n | method | seconds | inertia / n |\n|---|---|---|---|');
      console.log(spreadRows.join('\n'));
    }
  }

  if (smallRows.length > 0) {
    console.log('\nseeds the Clusterer fits whole: fitSample (tolerance 1e-4) with CLUSTER_SWAPS = 0 and the default (2k), mean of ten random states');
    console.log('| seeds | ms, 0 moves | ms, moves | × | inertia / n, 0 moves | inertia / n, moves | ratio |\n|---|---|---|---|---|---|---|');
    console.log(smallRows.join('\n'));
  }
  if (!kernelData) return;
  const { points, centroids } = kernelData;
  const n = points.length / dim;
  const kc = centroids.length / dim;
  const out = () => ({ assignments: new Int32Array(n), distances: new Float64Array(n) });
  const naive = out();
  const blocked = out();
  const wasm = out();
  const choice = await selectBackend('wasm');
  const best = (f: () => void) => Math.min(...[0, 1, 2].map(() => timed(f).seconds));
  const tNaive = best(() => nearestCentroidsReference(points, n, dim, centroids, kc, naive));
  const tBlocked = best(() => nearestCentroids(points, n, dim, centroids, kc, blocked));
  const tWasm = kc === k ? best(() => nearestWasm(points, n, centroids, wasm.assignments, wasm.distances)) : Number.NaN;
  const nativeOut = out();
  const native = nativeNearestCentroids();
  const tNative = native ? best(() => assignNearest(points, n, dim, centroids, kc, nativeOut)) : Number.NaN;
  const differ = (o: ReturnType<typeof out>) => o.assignments.reduce((s, a, i) => s + (a !== naive.assignments[i] ? 1 : 0), 0);
  const madd = (s: number) => ((n * kc * dim) / s / 1e9).toFixed(2);
  console.log(`\nassignment kernel, ${n.toLocaleString()} points × ${kc} centroids × dim ${dim}, best of 3 (${choice.name}: ${choice.reason})`);
  console.log('| kernel | seconds | G multiply-adds/s | × naive | assignments ≠ naive |\n|---|---|---|---|---|');
  console.log(`| naive per-pair loop | ${tNaive.toFixed(3)} | ${madd(tNaive)} | 1.0 | 0 |`);
  console.log(`| blocked 2×4, ‖x‖² − 2x·c + ‖c‖² | ${tBlocked.toFixed(3)} | ${madd(tBlocked)} | ${(tNaive / tBlocked).toFixed(1)} | ${differ(blocked)} |`);
  console.log(`| tfjs-wasm matMul + JS argmin | ${tWasm.toFixed(3)} | ${madd(tWasm)} | ${(tNaive / tWasm).toFixed(1)} | ${differ(wasm)} |`);
  console.log(native ? `| native OpenBLAS sgemm + C argmin (assignNearest, what k-means runs) | ${tNative.toFixed(3)} | ${madd(tNative)} | ${(tNaive / tNative).toFixed(1)} | ${differ(nativeOut)} |` : '| native OpenBLAS sgemm | not built (`make native`) | | | |');
})();
