import { createHash, randomBytes } from 'node:crypto';
import type { StateStore } from '@ralm/platform';
import { foldExclusions, type ExclusionEdit } from '../domain/exclusions';

/**
 * Exclusion lists in the scorer's state store, as one key per edit under the candidate's
 * prefix: replicas that edit one list at the same time each add a key, so neither overwrites
 * the other (the store has no compare-and-set), and a read folds the edits in key order (the
 * time they were stored, then a random tie-break). An edit that clears the list makes the
 * older keys moot, and they are deleted after it is stored.
 */
export class ExclusionStore {
  constructor(private readonly store: () => Promise<StateStore>) {}

  /** The candidate's list. */
  async read(candidateId: string): Promise<Set<string>> {
    const { edits } = await this.edits(candidateId);
    return foldExclusions(edits.map((e) => e.edit));
  }

  /** Stores `edit` after the candidate's others; returns the list it leaves (as this replica sees it). */
  async apply(candidateId: string, edit: ExclusionEdit, limit: number): Promise<Set<string>> {
    const { store, edits } = await this.edits(candidateId);
    const after = foldExclusions([...edits.map((e) => e.edit), edit]);
    if (after.size > limit) throw new ExclusionLimitError(after.size, limit);
    const key = `${prefix(candidateId)}${Date.now().toString().padStart(15, '0')}-${randomBytes(6).toString('hex')}`;
    await store.put(key, new TextEncoder().encode(JSON.stringify(edit)));
    if (edit.clear) for (const older of edits) if (older.key < key) await store.delete(older.key);
    return after;
  }

  private async edits(candidateId: string): Promise<{ store: StateStore; edits: Array<{ key: string; edit: ExclusionEdit }> }> {
    const store = await this.store();
    const keys = await store.keys(prefix(candidateId));
    // All reads at once: one round trip's wait per list on the NATS object store, not one per edit.
    const values = await Promise.all(keys.map((key) => store.get(key)));
    const edits: Array<{ key: string; edit: ExclusionEdit }> = [];
    keys.forEach((key, i) => {
      const bytes = values[i];
      // Deleted by a concurrent clear between the listing and the read: superseded anyway.
      if (bytes) edits.push({ key, edit: JSON.parse(new TextDecoder().decode(bytes)) as ExclusionEdit });
    });
    return { store, edits };
  }
}

export class ExclusionLimitError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`the list would hold ${size} users, over the limit of ${limit}`);
  }
}

/** Fixed-length, so that one candidate's prefix never starts another's (ids may hold '/'). */
function prefix(candidateId: string): string {
  return `exclusions/${createHash('sha256').update(candidateId).digest('hex')}/`;
}
