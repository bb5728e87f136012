/**
 * A first-in first-out queue over a plain array with a moving head: push and
 * shift are O(1) amortised. Used instead of "delete the first key of a Map":
 * V8 leaves a deleted Map entry as a hole that every later iteration from the
 * front must step over until the table is rebuilt, so at a cap of millions
 * evicting the oldest key through `map.keys().next()` grows to milliseconds.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, or undefined when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    // Compact once the dead prefix is half the array: amortised O(1) per shift.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
