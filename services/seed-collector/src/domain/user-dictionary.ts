/**
 * User ids as small integers, shared by every candidate's seed ring: a seed is then 4
 * bytes in a typed array instead of a string key with its Map entry. Reference counts
 * free an index when no ring holds its user any more, so user churn does not grow the
 * dictionary without bound; freed indices are reused.
 */
export class UserDictionary {
  private readonly index = new Map<string, number>();
  private ids: string[] = [];
  private refs = new Int32Array(1024);
  private readonly free: number[] = [];

  /** Users held by at least one ring. */
  get size(): number {
    return this.index.size;
  }

  /** The user's index, creating one (with no reference yet) when the user is new. */
  intern(userId: string): number {
    let i = this.index.get(userId);
    if (i !== undefined) return i;
    i = this.free.pop() ?? this.ids.length;
    if (i === this.ids.length) this.ids.push(userId);
    else this.ids[i] = userId;
    if (i >= this.refs.length) {
      const grown = new Int32Array(this.refs.length * 2);
      grown.set(this.refs);
      this.refs = grown;
    }
    this.refs[i] = 0;
    this.index.set(userId, i);
    return i;
  }

  /** The index of a known user, without creating one. */
  find(userId: string): number | undefined {
    return this.index.get(userId);
  }

  userId(i: number): string {
    return this.ids[i]!;
  }

  retain(i: number): void {
    this.refs[i]! += 1;
  }

  /** Drops one reference; the last one frees the index (an interned user never retained is freed too). */
  release(i: number): void {
    if (--this.refs[i]! > 0) return;
    this.index.delete(this.ids[i]!);
    this.ids[i] = '';
    this.free.push(i);
  }

  /** Frees an index interned for a click that was then not kept (no ring took it). */
  releaseIfUnused(i: number): void {
    if (this.refs[i] === 0) {
      this.refs[i] = 1;
      this.release(i);
    }
  }
}
