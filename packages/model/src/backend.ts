import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** What runs: the native TensorFlow binding (GPU or CPU build), WebAssembly, or plain JS. */
  name: BackendName;
  /** Why this one, e.g. "@tensorflow/tfjs-node-gpu not installed; wasm (SIMD)". */
  reason: string;
}

let chosen: Promise<BackendChoice> | undefined;

function tryRequire(id: string): string | undefined {
  try {
    require(id);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/**
 * Picks the fastest backend available at run time, once per process:
 * tfjs-node-gpu, then tfjs-node (both optional dependencies: they need a native
 * binary that cannot be downloaded everywhere), then WebAssembly, then plain JS.
 * `prefer` forces one (benchmarks compare wasm and cpu).
 */
export function selectBackend(prefer?: 'wasm' | 'cpu'): Promise<BackendChoice> {
  if (prefer) return useBackend(prefer, `requested ${prefer}`);
  return (chosen ??= (async () => {
    const skipped: string[] = [];
    for (const [id, name] of [
      ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
      ['@tensorflow/tfjs-node', 'tensorflow'],
    ] as const) {
      const failure = tryRequire(id);
      if (failure === undefined && (await tf.setBackend('tensorflow'))) {
        await tf.ready();
        return { name, reason: `${id} loaded${skipped.length ? `; ${skipped.join('; ')}` : ''}` };
      }
      skipped.push(`${id} unavailable (${failure ?? 'backend did not initialise'})`);
    }
    try {
      return await useBackend('wasm', skipped.join('; '));
    } catch (err) {
      skipped.push(`wasm failed (${(err as Error).message})`);
      return useBackend('cpu', skipped.join('; '));
    }
  })());
}

async function useBackend(name: 'wasm' | 'cpu', reason: string): Promise<BackendChoice> {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries ship inside the npm package; point the loader at them instead of a CDN.
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialise`);
  await tf.ready();
  return { name, reason };
}

export { tf };
