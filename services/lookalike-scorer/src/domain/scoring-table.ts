import { writeSlot, type KernelTable } from '@ralm/kernel';

/** One candidate's precomputed rows (spec §5), as `precomputeCandidates` returns them for a single candidate. */
export interface CandidateRows {
  /** k × h: E_s = T(c_j), zero rows for absent clusters. */
  es: Float32Array;
  /** k × h: P = E_s W_l. */
  projected: Float32Array;
  /** k × k: G = E_s E_sᵀ. */
  gram: Float32Array;
  /** h: ê_glb. */
  globalUnit: Float32Array;
  /** k: 1 for a real cluster. */
  mask: ArrayLike<number>;
  clusterVersion: number;
  seedCount: number;
}

/**
 * The servable candidates of one model version, packed contiguously in the
 * kernel's layout (per candidate: P rows, E_s rows, ê_glb), so scoring a user
 * against all of them is one pass over one Float32Array. Candidates are added,
 * replaced in place and removed (the last slot moves into the hole), and the
 * arrays grow by doubling. Mutated only between scoring calls: JavaScript runs
 * one thing at a time, and the kernel call is synchronous.
 */
export class ScoringTable {
  private capacity = 0;
  private rows = new Float32Array(0);
  private gram = new Float32Array(0);
  private mask = new Uint8Array(0);
  private readonly slotOf = new Map<string, number>();
  private ids: string[] = [];
  private clusterVersions: number[] = [];
  private seedCounts: number[] = [];
  private view: KernelTable | undefined;

  constructor(
    readonly k: number,
    readonly h: number,
    readonly average: boolean,
  ) {}

  get count(): number {
    return this.ids.length;
  }

  /** Slot of a candidate, or undefined when it is not servable from this table. */
  slot(candidateId: string): number | undefined {
    return this.slotOf.get(candidateId);
  }

  /** The candidates in the table, in slot order (a copy). */
  candidateIds(): string[] {
    return this.ids.slice();
  }

  candidateAt(slot: number): string {
    return this.ids[slot]!;
  }

  clusterVersionAt(slot: number): number {
    return this.clusterVersions[slot]!;
  }

  seedCountAt(slot: number): number {
    return this.seedCounts[slot]!;
  }

  /** The kernel's view of the live slots (the arrays may be longer than `count` needs). */
  kernelTable(): KernelTable {
    const { count, k, h } = this;
    // Views, not copies: the kernel sees exactly the live slots.
    return (this.view ??= {
      count,
      k,
      h,
      rows: this.rows.subarray(0, count * (2 * k + 1) * h),
      gram: this.gram.subarray(0, count * k * k),
      mask: this.mask.subarray(0, count * k),
      average: this.average,
    });
  }

  /** Adds or replaces a candidate's rows. */
  put(candidateId: string, c: CandidateRows): void {
    const { k, h } = this;
    let slot = this.slotOf.get(candidateId);
    if (slot === undefined) {
      slot = this.ids.length;
      if (slot === this.capacity) this.grow();
      this.ids.push(candidateId);
      this.clusterVersions.push(0);
      this.seedCounts.push(0);
      this.slotOf.set(candidateId, slot);
    }
    // The kernel package owns the layout; write through a view of the whole capacity.
    const all = { count: this.capacity, k, h, rows: this.rows, gram: this.gram, mask: this.mask, average: this.average };
    writeSlot(all, slot, c.es, c.projected, c.gram, c.globalUnit, c.mask);
    this.clusterVersions[slot] = c.clusterVersion;
    this.seedCounts[slot] = c.seedCount;
    this.view = undefined;
  }

  /** Removes a candidate; the last slot moves into its place. */
  remove(candidateId: string): boolean {
    const slot = this.slotOf.get(candidateId);
    if (slot === undefined) return false;
    const last = this.ids.length - 1;
    if (slot !== last) {
      const { k, h } = this;
      const stride = (2 * k + 1) * h;
      this.rows.copyWithin(slot * stride, last * stride, (last + 1) * stride);
      this.gram.copyWithin(slot * k * k, last * k * k, (last + 1) * k * k);
      this.mask.copyWithin(slot * k, last * k, (last + 1) * k);
      const moved = this.ids[last]!;
      this.ids[slot] = moved;
      this.clusterVersions[slot] = this.clusterVersions[last]!;
      this.seedCounts[slot] = this.seedCounts[last]!;
      this.slotOf.set(moved, slot);
    }
    this.ids.pop();
    this.clusterVersions.pop();
    this.seedCounts.pop();
    this.slotOf.delete(candidateId);
    this.view = undefined;
    return true;
  }

  private grow(): void {
    const { k, h } = this;
    const next = Math.max(64, this.capacity * 2);
    const rows = new Float32Array(next * (2 * k + 1) * h);
    rows.set(this.rows);
    const gram = new Float32Array(next * k * k);
    gram.set(this.gram);
    const mask = new Uint8Array(next * k);
    mask.set(this.mask);
    this.rows = rows;
    this.gram = gram;
    this.mask = mask;
    this.capacity = next;
  }
}
