import { bootstrapRelativeChanges, quantile, resampleCounts } from '@ralm/eval';
import { Rng } from '@ralm/model';

/** The weighted mean of per-user values: the shape of every Table 2 statistic. */
const weightedMean = (values: number[]) => (weights?: Float64Array) => {
  let sum = 0;
  let n = 0;
  values.forEach((v, j) => {
    const w = weights ? weights[j]! : 1;
    sum += w * v;
    n += w;
  });
  return sum / n;
};

describe('user-level bootstrap of relative changes', () => {
  it('quantile interpolates between order statistics', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('draws each arm as many users as it has, with replacement', () => {
    const counts = resampleCounts(50, new Rng(3));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(50);
    expect(counts.some((c) => c === 0)).toBe(true);
    expect(counts.some((c) => c > 1)).toBe(true);
  });

  it('gives a zero-width interval at the true change when every user of an arm is alike', () => {
    const control = weightedMean(new Array(40).fill(2));
    const treatment = weightedMean(new Array(60).fill(2.5));
    const [c] = bootstrapRelativeChanges({ control: 40, treatment: 60 }, (arm, w) => [arm === 'control' ? control(w) : treatment(w)], { replicates: 100, rng: new Rng(1) });
    expect(c!.change).toBeCloseTo(0.25, 12);
    expect(c!.low).toBeCloseTo(0.25, 12);
    expect(c!.high).toBeCloseTo(0.25, 12);
    expect(c!.finiteReplicates).toBe(100);
  });

  it("covers a planted +10% effect and keeps away from 0; a null effect's interval holds 0", () => {
    const rng = new Rng(7);
    const draw = (mean: number, n: number) => Array.from({ length: n }, () => mean + 2 * rng.normal());
    const controlValues = draw(10, 500);
    const treated = controlValues.map((v) => v * 1.1);
    const planted = bootstrapRelativeChanges(
      { control: 500, treatment: 500 },
      (arm, w) => [weightedMean(arm === 'control' ? controlValues : treated)(w)],
      { replicates: 300, rng: new Rng(2) },
    )[0]!;
    expect(planted.change).toBeCloseTo(0.1, 10);
    expect(planted.low).toBeLessThan(0.1);
    expect(planted.high).toBeGreaterThan(0.1);
    expect(planted.low).toBeGreaterThan(0);
    // Independent resampling of the arms: the interval is about ±1.96·√2·(2/√500)/10 ≈ ±0.025 wide each side.
    expect(planted.high - planted.low).toBeGreaterThan(0.02);
    expect(planted.high - planted.low).toBeLessThan(0.08);

    const other = draw(10, 400);
    const none = bootstrapRelativeChanges(
      { control: 500, treatment: 400 },
      (arm, w) => [weightedMean(arm === 'control' ? controlValues : other)(w)],
      { replicates: 300, rng: new Rng(2) },
    )[0]!;
    expect(none.low).toBeLessThan(0);
    expect(none.high).toBeGreaterThan(0);
  });

  it('pairs the same users on both sides when asked: a tighter interval around the same change', () => {
    const rng = new Rng(9);
    // Users differ a lot from one another; the policy adds 5% to each.
    const before = Array.from({ length: 300 }, () => Math.exp(rng.normal()));
    const after = before.map((v) => v * 1.05);
    const statistic = (arm: 'control' | 'treatment', w?: Float64Array) => [weightedMean(arm === 'control' ? before : after)(w)];
    const paired = bootstrapRelativeChanges({ control: 300, treatment: 300 }, statistic, { replicates: 200, rng: new Rng(1), paired: true })[0]!;
    const unpaired = bootstrapRelativeChanges({ control: 300, treatment: 300 }, statistic, { replicates: 200, rng: new Rng(1) })[0]!;
    expect(paired.change).toBeCloseTo(0.05, 12);
    expect(paired.low).toBeCloseTo(0.05, 12);
    expect(paired.high).toBeCloseTo(0.05, 12);
    expect(unpaired.high - unpaired.low).toBeGreaterThan(0.1);
    expect(() => bootstrapRelativeChanges({ control: 3, treatment: 4 }, statistic, { replicates: 10, rng: new Rng(1), paired: true })).toThrow(RangeError);
  });

  it('leaves replicates without a finite change out of the interval', () => {
    // One control user carries everything: replicates that miss it have control 0 and no relative change.
    const control = [0, 0, 0, 0, 5];
    const [c] = bootstrapRelativeChanges(
      { control: 5, treatment: 5 },
      (arm, w) => [arm === 'control' ? weightedMean(control)(w) : weightedMean([1, 1, 1, 1, 1])(w)],
      { replicates: 200, rng: new Rng(4) },
    );
    expect(c!.finiteReplicates).toBeGreaterThan(0);
    expect(c!.finiteReplicates).toBeLessThan(200);
    expect(Number.isFinite(c!.low) && Number.isFinite(c!.high)).toBe(true);
  });
});
