import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng';

/**
 * Named trainable variables. Names are stable ("user.field.gender.embedding"),
 * so artifacts and checkpoints store weights by name, not by creation order.
 */
let instances = 0;

export class Params {
  private readonly vars = new Map<string, tf.Variable>();
  // tfjs registers variable names process-wide; a per-instance prefix lets two
  // models (an old and a new version) live side by side.
  private readonly scope = `p${++instances}`;

  /** Glorot-uniform for matrices, small normal for embedding tables, zeros for biases, all from `rng`. */
  add(name: string, shape: number[], init: 'glorot' | 'embedding' | 'zeros' | { constant: number }, rng: Rng): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (init === 'glorot') {
      const [fanIn, fanOut] = shape.length >= 2 ? [shape[0]!, shape[shape.length - 1]!] : [shape[0]!, shape[0]!];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * limit;
    } else if (init === 'embedding') {
      for (let i = 0; i < size; i++) values[i] = rng.normal() * 0.05;
    } else if (typeof init === 'object') {
      values.fill(init.constant);
    }
    const v = tf.variable(tf.tensor(values, shape), true, `${this.scope}/${name}`);
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Name → variable, for optimizers that keep state by parameter name. */
  named(): Map<string, tf.Variable> {
    return new Map(this.vars);
  }

  /** Copies every weight out, by name. */
  read(): Map<string, { shape: number[]; values: Float32Array }> {
    const out = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const [name, v] of this.vars) out.set(name, { shape: v.shape, values: v.dataSync() as Float32Array });
    return out;
  }

  /** Overwrites every weight by name; shapes must match exactly. */
  write(weights: Map<string, { shape: number[]; values: Float32Array }>): void {
    for (const [name, v] of this.vars) {
      const w = weights.get(name);
      if (!w) throw new Error(`weights have no parameter ${name}`);
      if (w.shape.join('x') !== v.shape.join('x')) throw new Error(`parameter ${name}: shape ${w.shape.join('x')} does not match ${v.shape.join('x')}`);
      v.assign(tf.tensor(w.values, v.shape));
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
