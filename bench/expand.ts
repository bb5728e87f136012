/**
 * Audience expansion (LookalikeScorer.ExpandAudience's work): every stored user scored for
 * one candidate — one product of the candidate's 2k + 1 rows with the n × h matrix of the
 * users' look-alike embeddings T(u), through the kernel in chunks — then the best `size`
 * ranked with seeds and exclusions left out. The goal (issue 19): 1,000,000 users ranked for
 * one candidate in ≤ 1 s on one core. Each figure is the median of --repeats runs; the
 * native kernel is checked against the TypeScript one on the first 20,000 users.
 *
 *   npx tsx bench/expand.ts [--users 1000000] [--sizes 10000,100000] [--repeats 5]
 */
import os from 'node:os';
import { convertTable, createKernelTable, loadNativeKernel, nativeStatus, typescriptKernel, type KernelTable, type ScoringKernel } from '@ralm/kernel';
import { Rng } from '@ralm/model/rng';
import { rankAudience, scoreAllUsers } from '../services/lookalike-scorer/src/domain/audience';
import { writeRandomCandidate } from './candidates';
import { arg, markdownTable, percentile, thousands, timed } from './common';

const K = 20;
const H = 128;
const users = Number(arg('users', '1000000'));
const sizes = arg('sizes', '10000,100000').split(',').map(Number);
const repeats = Number(arg('repeats', '5'));
const GOAL_S = 1;

function candidate(rng: Rng): KernelTable {
  const table = createKernelTable(1, K, H, false);
  writeRandomCandidate(table, 0, rng);
  return table;
}

const median = (xs: number[]) => percentile(xs, 0.5);

(() => {
  const native = nativeStatus();
  console.log(`bench/expand: npx tsx bench/expand.ts ${process.argv.slice(2).join(' ')}`.trim());
  console.log(`${os.cpus().length} cores (${os.cpus()[0]?.model}), node ${process.version}, one thread; native kernel: ${native.loaded ? native.blas : `not loaded (${native.reason})`}`);
  const rng = new Rng(2026);
  const table = candidate(rng);
  const matrix = new Float32Array(users * H);
  for (let i = 0; i < matrix.length; i++) matrix[i] = Math.max(0, rng.normal());
  const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
  // 1 % of the store excluded (seeds and exclusion lists), as a request would.
  const excluded = new Set(Array.from({ length: users / 100 }, (_, i) => i * 100));
  console.log(`${thousands(users)} users × h = ${H}, one candidate of k = ${K} clusters; ${thousands(excluded.size)} excluded; median of ${repeats}\n`);

  const kernels: Array<[string, ScoringKernel, KernelTable]> = native.loaded
    ? [
        ['native float32', loadNativeKernel(), table],
        ['native int8', loadNativeKernel(), convertTable(table, 'int8')],
      ]
    : [['typescript', typescriptKernel, table]];
  // The fast path against the TypeScript kernel on the first 20,000 users.
  const sample = Math.min(users, 20_000);
  const reference = scoreAllUsers(typescriptKernel, table, 0, matrix, sample, 0.3, 0.7);
  const rows: string[][] = [];
  let met = true;
  for (const [name, kernel, t] of kernels) {
    const check = scoreAllUsers(kernel, t, 0, matrix, sample, 0.3, 0.7);
    let worst = 0;
    for (let i = 0; i < sample; i++) worst = Math.max(worst, Math.abs(check[i]! - reference[i]!));
    const scoring: number[] = [];
    let scores: Float32Array = new Float32Array(0);
    for (let r = 0; r < repeats; r++) {
      const { value: s, seconds } = timed(() => scoreAllUsers(kernel, t, 0, matrix, users, 0.3, 0.7));
      scores = s;
      scoring.push(seconds);
    }
    for (const size of sizes) {
      const ranking: number[] = [];
      for (let r = 0; r < repeats; r++) ranking.push(timed(() => rankAudience(scores, { size, excluded, minScore: -Infinity }, (row) => ids[row]!)).seconds);
      const total = median(scoring) + median(ranking);
      if (name === 'native float32' && total > GOAL_S) met = false;
      rows.push([name, thousands(size), median(scoring).toFixed(3), median(ranking).toFixed(3), total.toFixed(3), `×${(total / GOAL_S).toFixed(2)}`, thousands(users / total), worst.toExponential(1)]);
    }
  }
  console.log(markdownTable(['kernel', 'audience', 'score all s', 'rank s', 'total s', 'of the 1 s goal', 'users/s', 'max |Δ| vs TypeScript (20,000 users)'], rows));
  console.log(`\n${thousands(users)} users ranked for one candidate in ≤ ${GOAL_S} s on one core (native float32, every audience size): ${met ? 'met' : 'NOT met'}`);
})();
