import type { StateStore } from './port';

/**
 * One store seen through a key prefix: each partition of a service keeps its keys apart in
 * the service's one bucket. Closing it leaves the shared store open (its owner closes it).
 */
export function prefixedStore(store: StateStore, prefix: string): StateStore {
  if (prefix === '') return store;
  return {
    kind: store.kind,
    get: (key) => store.get(prefix + key),
    put: (key, value) => store.put(prefix + key, value),
    delete: (key) => store.delete(prefix + key),
    keys: async (within = '') => (await store.keys(prefix + within)).map((k) => k.slice(prefix.length)),
    close: async () => {},
  };
}
