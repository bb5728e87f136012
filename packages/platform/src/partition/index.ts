/**
 * Where a candidate's seeds live when the seed collector runs as several replicas: the one
 * rule every piece that routes by candidate reads (the collector's edge and consumers, the
 * clusterer's seed reads). Pure: no I/O, so the routing can be checked against a brute force.
 *
 * A fixed number of partitions (SEED_PARTITIONS) is chosen once; N replicas own them by
 * ordinal, partition k belonging to replica k mod N. Changing N moves partitions between
 * replicas, never candidates between partitions; changing the partition count would move
 * candidates and is not supported in place (docs/SCALING.md).
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes: stable across processes, languages and releases. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

function requirePositive(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

/** The partition (0..partitions-1) holding `candidateId`. */
export function partitionOf(candidateId: string, partitions: number): number {
  requirePositive('partitions', partitions);
  return partitions === 1 ? 0 : fnv1a32(candidateId) % partitions;
}

/** The replica ordinal (0..replicas-1) owning `partition`. */
export function ownerOf(partition: number, replicas: number): number {
  requirePositive('replicas', replicas);
  return partition % replicas;
}

/** The partitions replica `ordinal` of `replicas` owns, ascending. */
export function partitionsOwnedBy(ordinal: number, replicas: number, partitions: number): number[] {
  requirePositive('replicas', replicas);
  requirePositive('partitions', partitions);
  if (!Number.isSafeInteger(ordinal) || ordinal < 0 || ordinal >= replicas) throw new RangeError(`ordinal must be in 0..${replicas - 1}, got ${ordinal}`);
  const owned: number[] = [];
  for (let k = ordinal; k < partitions; k += replicas) owned.push(k);
  return owned;
}
