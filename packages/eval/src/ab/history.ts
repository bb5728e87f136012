import type { Dataset } from '@ralm/data';

/** Items' categories and tags as small integers, so per-user counts can be arrays and maps of numbers. */
export interface Catalog {
  /** Category index of each item row. */
  category: Int32Array;
  categories: string[];
  /** Tag indices of each item row (distinct). */
  tags: Int32Array[];
  tagCount: number;
}

export function catalogOf(dataset: Dataset): Catalog {
  const categoryIndex = new Map<string, number>();
  const tagIndex = new Map<string, number>();
  const intern = (m: Map<string, number>, key: string) => {
    let i = m.get(key);
    if (i === undefined) m.set(key, (i = m.size));
    return i;
  };
  const { items } = dataset;
  const category = Int32Array.from(items.category, (c) => intern(categoryIndex, c));
  const tags = items.tags.map((list) => Int32Array.from(new Set(list.filter((t) => t !== '').map((t) => intern(tagIndex, t)))));
  return { category, categories: [...categoryIndex.keys()], tags, tagCount: tagIndex.size };
}

/**
 * What the recommenders know of the past at the start of a day: the logged events before
 * the replay, then every simulated day of both arms as it ends (a production model is
 * retrained on all traffic, whatever arm served it). The response model never reads it.
 */
export class History {
  readonly itemExposures: Float64Array;
  readonly itemClicks: Float64Array;
  readonly categoryClicks: Float64Array;
  readonly userClicks: Float64Array;
  /** Per user: category index → clicks. */
  readonly userCategoryClicks: Array<Map<number, number> | undefined>;
  /** Per user: items they must not be shown again (read in the logged past, or shown in the simulation). */
  readonly seen: Array<Set<number> | undefined>;
  /** Per item: its distinct clickers so far (its seeds). */
  readonly seeds: Array<Set<number> | undefined>;
  totalExposures = 0;
  totalClicks = 0;

  constructor(
    readonly catalog: Catalog,
    users: number,
  ) {
    const items = catalog.category.length;
    this.itemExposures = new Float64Array(items);
    this.itemClicks = new Float64Array(items);
    this.categoryClicks = new Float64Array(catalog.categories.length);
    this.userClicks = new Float64Array(users);
    this.userCategoryClicks = new Array(users);
    this.seen = new Array(users);
    this.seeds = new Array(items);
  }

  /** The logged events before the replay. Exposures the user did not click stay showable: only reads are "seen". */
  static fromLog(dataset: Dataset, catalog: Catalog, events: Int32Array): History {
    const h = new History(catalog, dataset.users.ids.length);
    const { user, item, label } = dataset.events;
    for (const e of events) h.record(user[e]!, item[e]!, label[e] === 1, label[e] === 1);
    return h;
  }

  /** One impression; `hide` marks the item as not to be shown to this user again. */
  record(u: number, i: number, clicked: boolean, hide: boolean): void {
    this.itemExposures[i]!++;
    this.totalExposures++;
    if (hide) (this.seen[u] ??= new Set()).add(i);
    if (!clicked) return;
    this.itemClicks[i]!++;
    this.totalClicks++;
    const c = this.catalog.category[i]!;
    this.categoryClicks[c]!++;
    this.userClicks[u]!++;
    const cats = (this.userCategoryClicks[u] ??= new Map());
    cats.set(c, (cats.get(c) ?? 0) + 1);
    (this.seeds[i] ??= new Set()).add(u);
  }

  hasSeen(u: number, i: number): boolean {
    return this.seen[u]?.has(i) ?? false;
  }

  seedCount(i: number): number {
    return this.seeds[i]?.size ?? 0;
  }
}
