import * as tf from '@tensorflow/tfjs';

export type NamedWeights = Map<string, { shape: number[]; values: Float32Array }>;

/**
 * Adam (Kingma & Ba) with its whole state explicit and keyed by parameter
 * name. tfjs' own Adam keeps β^t as a float32 running product and, on restore,
 * recomputes it with pow(): the two differ in the last bits and a resumed run
 * drifts from the uninterrupted one. Here the bias corrections are functions of
 * the step count alone, so a checkpoint resumes exactly.
 */
export class Adam {
  private step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {}

  /** One update of `vars` (name → variable) against `loss`; returns the loss value. */
  minimize(loss: () => tf.Scalar, vars: Map<string, tf.Variable>): number {
    const names = [...vars.keys()];
    const { value, grads } = tf.variableGrads(loss, names.map((n) => vars.get(n)!));
    this.step++;
    const c1 = 1 / (1 - this.beta1 ** this.step);
    const c2 = 1 / (1 - this.beta2 ** this.step);
    tf.tidy(() => {
      for (const name of names) {
        const variable = vars.get(name)!;
        const g = grads[variable.name];
        if (!g) continue;
        const m = this.slot(this.m, name, variable);
        const v = this.slot(this.v, name, variable);
        const mNext = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNext = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(mNext);
        v.assign(vNext);
        const update = tf.div(tf.mul(mNext, c1), tf.add(tf.sqrt(tf.mul(vNext, c2)), this.epsilon));
        variable.assign(tf.sub(variable, tf.mul(update, this.learningRate)));
      }
    });
    const result = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return result;
  }

  private slot(slots: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let s = slots.get(name);
    if (!s) slots.set(name, (s = tf.variable(tf.zerosLike(like), false)));
    return s;
  }

  /** The full state: step count and both moments of every parameter. */
  read(): NamedWeights {
    const out: NamedWeights = new Map([['step', { shape: [], values: Float32Array.of(this.step) }]]);
    for (const [kind, slots] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, s] of slots) out.set(`${kind}:${name}`, { shape: s.shape, values: s.dataSync() as Float32Array });
    }
    return out;
  }

  write(state: NamedWeights): void {
    this.step = state.get('step')?.values[0] ?? 0;
    for (const [key, w] of state) {
      const [kind, name] = [key.slice(0, 2), key.slice(2)];
      const slots = kind === 'm:' ? this.m : kind === 'v:' ? this.v : undefined;
      if (!slots) continue;
      slots.get(name)?.dispose();
      slots.set(name, tf.variable(tf.tensor(w.values, w.shape), false));
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}
