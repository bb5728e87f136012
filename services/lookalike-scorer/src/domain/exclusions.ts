/** One SetExclusions: applied as `clear`, then `remove`, then `add`. */
export interface ExclusionEdit {
  clear: boolean;
  add: readonly string[];
  remove: readonly string[];
}

/** A candidate's list from its edits, in the order they were stored. */
export function foldExclusions(edits: Iterable<ExclusionEdit>): Set<string> {
  const list = new Set<string>();
  for (const edit of edits) {
    if (edit.clear) list.clear();
    for (const id of edit.remove) list.delete(id);
    for (const id of edit.add) list.add(id);
  }
  return list;
}
