import { createKernelTable, headView, moveSlot, resizeTable, writeSlot, type KernelTable, type TablePrecision } from '@ralm/kernel';

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
  /** k: seeds in each cluster slot (0 for absent ones); slots hold the clusters largest first. */
  sizes: readonly number[];
  /** k: the global attention weight of each cluster slot (what ê_glb averages with; 0 for absent ones). */
  globalWeights: readonly number[];
  clusterVersion: number;
  seedCount: number;
}

/** What Explain reports of a slot's clusters besides its rows. */
export interface SlotClusters {
  sizes: readonly number[];
  globalWeights: readonly number[];
}

/** What a slot holds besides its kernel rows; moves with them. */
interface SlotInfo extends SlotClusters {
  candidateId: string;
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
  /** Every allocated slot; the first `count` are live. */
  private store: KernelTable;
  private readonly slotOf = new Map<string, number>();
  private slots: SlotInfo[] = [];
  private view: KernelTable | undefined;

  constructor(
    readonly k: number,
    readonly h: number,
    readonly average: boolean,
    /** How the rows are stored: float32 (the reference) or int8 with a per-row scale and offset (~⅓ of the bytes). */
    readonly precision: TablePrecision = 'float32',
  ) {
    this.store = createKernelTable(0, k, h, average, precision);
  }

  get count(): number {
    return this.slots.length;
  }

  /** Slot of a candidate, or undefined when it is not servable from this table. */
  slot(candidateId: string): number | undefined {
    return this.slotOf.get(candidateId);
  }

  /** The candidates in the table, in slot order (a copy). */
  candidateIds(): string[] {
    return this.slots.map((info) => info.candidateId);
  }

  candidateAt(slot: number): string {
    return this.slots[slot]!.candidateId;
  }

  clusterVersionAt(slot: number): number {
    return this.slots[slot]!.clusterVersion;
  }

  seedCountAt(slot: number): number {
    return this.slots[slot]!.seedCount;
  }

  clustersAt(slot: number): SlotClusters {
    const { sizes, globalWeights } = this.slots[slot]!;
    return { sizes, globalWeights };
  }

  /** The kernel's view of the live slots (views of the store, not copies). */
  kernelTable(): KernelTable {
    return (this.view ??= headView(this.store, this.count));
  }

  /** Adds or replaces a candidate's rows. */
  put(candidateId: string, c: CandidateRows): void {
    let slot = this.slotOf.get(candidateId);
    if (slot === undefined) {
      slot = this.slots.length;
      // Doubling keeps appends amortised O(1).
      if (slot === this.store.count) this.store = resizeTable(this.store, Math.max(64, this.store.count * 2));
      this.slotOf.set(candidateId, slot);
    }
    writeSlot(this.store, slot, c.es, c.projected, c.gram, c.globalUnit, c.mask);
    this.slots[slot] = { candidateId, clusterVersion: c.clusterVersion, seedCount: c.seedCount, sizes: c.sizes, globalWeights: c.globalWeights };
    this.view = undefined;
  }

  /** Removes a candidate; the last slot moves into its place. */
  remove(candidateId: string): boolean {
    const slot = this.slotOf.get(candidateId);
    if (slot === undefined) return false;
    const last = this.slots.length - 1;
    if (slot !== last) {
      moveSlot(this.store, last, slot);
      const moved = this.slots[last]!;
      this.slots[slot] = moved;
      this.slotOf.set(moved.candidateId, slot);
    }
    this.slots.pop();
    this.slotOf.delete(candidateId);
    this.view = undefined;
    return true;
  }
}
