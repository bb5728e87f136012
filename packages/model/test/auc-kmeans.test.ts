import { auc } from '../src/auc';
import { kmeans } from '../src/kmeans';
import { Rng } from '../src/rng';

function bruteAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (!labels[i]) return;
    scores.forEach((sn, j) => {
      if (labels[j]) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('auc', () => {
  it('matches the pairwise definition, ties counted half, on random cases', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + rng.int(60);
      const scores = Array.from({ length: n }, () => Math.round(rng.next() * 10) / 10);
      const labels = Array.from({ length: n }, (_, i) => (i === 0 ? 1 : i === 1 ? 0 : rng.int(2)));
      expect(auc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
    }
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });
});

describe('kmeans', () => {
  it('recovers well-separated blobs and reports consistent sizes and inertia', () => {
    const rng = new Rng(9);
    const centres = [[0, 0], [10, 10], [-10, 10]];
    const n = 300;
    const points = new Float32Array(n * 2);
    const truth: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      truth.push(c);
      points[i * 2] = centres[c]![0]! + rng.normal() * 0.5;
      points[i * 2 + 1] = centres[c]![1]! + rng.normal() * 0.5;
    }
    const r = kmeans(points, 2, 3, new Rng(1));
    expect(Array.from(r.sizes).reduce((a, b) => a + b, 0)).toBe(n);
    // Same partition as the truth, up to relabelling.
    const mapping = new Map<number, number>();
    truth.forEach((t, i) => mapping.set(r.assignments[i]!, t));
    expect(new Set(mapping.values()).size).toBe(3);
    truth.forEach((t, i) => expect(mapping.get(r.assignments[i]!)).toBe(t));
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      const c = r.assignments[i]!;
      inertia += (points[i * 2]! - r.centroids[c * 2]!) ** 2 + (points[i * 2 + 1]! - r.centroids[c * 2 + 1]!) ** 2;
    }
    expect(r.inertia).toBeCloseTo(inertia, 3);
  });

  it('is deterministic for a seed and clamps k to the number of points', () => {
    const points = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(kmeans(points, 1, 10, new Rng(5)).k).toBe(6);
    const a = kmeans(points, 2, 2, new Rng(5));
    const b = kmeans(points, 2, 2, new Rng(5));
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
  });
});
