/**
 * The `k` best of `n` scored slots (`scores[i]` is the score of `slots[i]`; no
 * `slots` means slot i), by score descending, ties by candidate id
 * ascending (the reply's order); k = 0 means all. A bounded min-heap keeps the
 * k best seen so far, so picking the top 100 of 50,000 costs n·log k compares
 * instead of a full sort.
 */
export function topK(scores: ArrayLike<number>, slots: ArrayLike<number> | undefined, idOf: (slot: number) => string, k: number): number[] {
  const n = scores.length;
  const slotAt = slots ? (i: number) => slots[i]! : (i: number) => i;
  // a is better than b
  const better = (a: number, b: number): boolean => {
    const sa = scores[a]!;
    const sb = scores[b]!;
    return sa > sb || (sa === sb && idOf(slotAt(a)) < idOf(slotAt(b)));
  };
  if (k === 0 || k >= n) {
    const all = Array.from({ length: n }, (_, i) => i);
    all.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    return all;
  }
  // heap[0] is the worst of the k kept.
  const heap: number[] = [];
  const siftUp = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!better(heap[parent]!, heap[i]!)) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && better(heap[worst]!, heap[l]!)) worst = l;
      if (r < heap.length && better(heap[worst]!, heap[r]!)) worst = r;
      if (worst === i) return;
      [heap[worst], heap[i]] = [heap[i]!, heap[worst]!];
      i = worst;
    }
  };
  for (let i = 0; i < n; i++) {
    if (heap.length < k) {
      heap.push(i);
      siftUp(heap.length - 1);
    } else if (better(i, heap[0]!)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
}
