import type { Dataset } from '@ralm/data';
import { catalogOf, RESPONSE_FEATURES, ResponseModel } from '@ralm/eval';
import { Rng } from '@ralm/model';

const USERS = 400;
/** The last users have a profile but no logged event: only their profile speaks for them. */
const SILENT = 40;
const ITEMS = 40;
const CATEGORIES = 4;

/**
 * Users whose favourite category is u mod 4, written in their `segment` field; items of
 * category i mod 4. `planted`: a click on the favourite category with probability 0.5,
 * elsewhere 0.05; otherwise 0.15 everywhere.
 */
function dataset(planted: boolean): Dataset {
  const rng = new Rng(11);
  const user: number[] = [];
  const item: number[] = [];
  const label: number[] = [];
  for (let u = 0; u < USERS - SILENT; u++) {
    for (let e = 0; e < 25; e++) {
      const i = rng.int(ITEMS);
      const p = planted ? (i % CATEGORIES === u % CATEGORIES ? 0.5 : 0.05) : 0.15;
      user.push(u);
      item.push(i);
      label.push(rng.next() < p ? 1 : 0);
    }
  }
  return {
    schema: { fields: [{ name: 'segment', kind: 'univalent' }] },
    users: { ids: Array.from({ length: USERS }, (_, u) => `u${u}`), fields: new Map([['segment', { kind: 'univalent', values: Array.from({ length: USERS }, (_, u) => `s${u % CATEGORIES}`) }]]) },
    items: { ids: Array.from({ length: ITEMS }, (_, i) => `i${i}`), category: Array.from({ length: ITEMS }, (_, i) => `c${i % CATEGORIES}`), tags: Array.from({ length: ITEMS }, (_, i) => [`t${i % 8}`, `g${i % 3}`]) },
    events: { user: Int32Array.from(user), item: Int32Array.from(item), timestamp: Float64Array.from(user, (_, e) => 1_700_000_000 + e), label: Uint8Array.from(label) },
    fingerprint: 'sha256:test',
  };
}

/** Mean P(click) on the users' favourite categories and elsewhere, over users [from, to). */
function meanProbabilities(model: ResponseModel, from: number, to: number): { favourite: number; other: number } {
  let favourite = 0;
  let other = 0;
  for (let u = from; u < to; u++) {
    for (let i = 0; i < ITEMS; i++) {
      if (i % CATEGORIES === u % CATEGORIES) favourite += model.probability(u, i) / (ITEMS / CATEGORIES);
      else other += model.probability(u, i) / (ITEMS - ITEMS / CATEGORIES);
    }
  }
  return { favourite: favourite / (to - from), other: other / (to - from) };
}

describe('the user-response model', () => {
  const planted = dataset(true);
  const model = ResponseModel.fit(planted, catalogOf(planted));

  it('learns a planted category preference from the clicks', () => {
    const s = model.summary;
    expect(s.fittedEvents).toBe((USERS - SILENT) * 25);
    expect(s.auc).toBeGreaterThan(0.75);
    const share = s.weightsPerSd[RESPONSE_FEATURES.indexOf('category_share')]!;
    const profile = s.weightsPerSd[RESPONSE_FEATURES.indexOf('profile_category_lift')]!;
    expect(share + profile).toBeGreaterThan(0.8);
    // Logistic regression with an intercept reproduces the mean of what it was fitted on.
    expect(s.meanPredicted).toBeCloseTo(s.loggedCtr, 6);
    const p = meanProbabilities(model, 0, USERS - SILENT);
    expect(p.favourite).toBeGreaterThan(0.3);
    expect(p.other).toBeLessThan(0.12);
  });

  it('judges a user with no logged event by the users who share its profile', () => {
    const p = meanProbabilities(model, USERS - SILENT, USERS);
    expect(p.favourite).toBeGreaterThan(2 * p.other);
  });

  it('finds nothing where nothing was planted', () => {
    const flat = dataset(false);
    const null_ = ResponseModel.fit(flat, catalogOf(flat));
    expect(null_.summary.auc).toBeLessThan(0.6);
    const p = meanProbabilities(null_, 0, USERS - SILENT);
    expect(Math.abs(p.favourite / p.other - 1)).toBeLessThan(0.15);
  });

  it('refuses a log with no click', () => {
    const flat = dataset(false);
    const noClicks = { ...flat, events: { ...flat.events, label: new Uint8Array(flat.events.label.length) } };
    expect(() => ResponseModel.fit(noClicks, catalogOf(noClicks))).toThrow(/with and without clicks/);
  });
});
