import { ADDON_PATH, loadKernel, nativeStatus } from '../src';

// Not skipped when the addon is missing: `make test` builds it (`make native`), and a build
// that silently broke must fail here rather than fall back to the TypeScript kernel.
describe('native kernel', () => {
  it('loads: loadKernel() is the OpenBLAS addon', () => {
    const status = nativeStatus();
    expect(status.loaded ? 'loaded' : `not loaded from ${ADDON_PATH}: ${status.reason}`).toBe('loaded');
    expect(loadKernel().name).toBe('native-openblas');
    if (status.loaded) expect(status.blas).toMatch(/OpenBLAS/);
  });

  it('the addon itself refuses arrays of the wrong type or length', () => {
    // The TypeScript wrapper validates first; call underneath it to test the addon's own checks.
    // (Its errors come from the main realm, not jest's, so match messages rather than classes.)
    const addon = require(ADDON_PATH) as { score: (...args: unknown[]) => void };
    const rows = new Float32Array(3 * 8);
    const gram = new Float32Array(1);
    const mask = new Uint8Array(1);
    const eu = new Float32Array(8);
    expect(() => addon.score(rows, gram, mask, 1, 8, false, eu, 1, 1, 1, new Float32Array(1))).not.toThrow();
    expect(() => addon.score(new Float64Array(24), gram, mask, 1, 8, false, eu, 1, 1, 1, new Float32Array(1))).toThrow(/rows has the wrong type/);
    expect(() => addon.score(rows.subarray(1), gram, mask, 1, 8, false, eu, 1, 1, 1, new Float32Array(1))).toThrow(/disagree with k and h/);
    expect(() => addon.score(rows, gram, mask, 1, 8, false, eu, 2, 1, 1, new Float32Array(2))).toThrow(/eu or out has the wrong length/);
    expect(() => addon.score(rows, gram, mask, 1, 8, false, eu, 1, 1, 1, new Float32Array(0))).toThrow(/eu or out has the wrong length/);
  });
});
