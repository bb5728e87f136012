import type { StateStore } from '../store/port';

/**
 * A StateStore in a Map, for unit tests that open no files. Pass the same map
 * to a second store to simulate a restart over the same data.
 */
export function createMemoryStateStore(data: Map<string, Uint8Array> = new Map()): StateStore & { readonly data: Map<string, Uint8Array> } {
  let closed = false;
  const open = () => {
    if (closed) throw new Error('state store is closed');
  };
  return {
    kind: 'lmdb',
    data,
    async get(key) {
      open();
      const value = data.get(key);
      return value && value.slice();
    },
    async put(key, value) {
      open();
      data.set(key, value.slice());
    },
    async delete(key) {
      open();
      data.delete(key);
    },
    async keys(prefix = '') {
      open();
      return [...data.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    async close() {
      closed = true;
    },
  };
}
