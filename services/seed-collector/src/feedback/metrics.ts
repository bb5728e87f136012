import { Gauge, type Registry } from 'prom-client';
import { DIVERSITY_TOP, type Arm, type WindowMeasures } from '@ralm/experiment';
import type { AbLedger } from '../domain/ab-ledger';

/** Label value of a diversity bucket: "1" … "15", then "16+". */
export const diversityBucket = (c: number) => (c >= DIVERSITY_TOP ? `${DIVERSITY_TOP}+` : String(c));

/**
 * The sliding-day gauges, `ralm_ab_window_*{arm}`, read from the ledger at scrape time.
 * Names carry no service prefix: every A/B series is `ralm_ab_*` wherever it is counted,
 * so rules and dashboards do not depend on which service hosts the intake. One measures
 * pass serves every gauge of a scrape (they are collected one after another).
 */
export function registerAbWindowGauges(registry: Registry, arms: readonly Arm[], ledger: AbLedger, now: () => number): void {
  let cached: { at: number; value: Map<string, WindowMeasures> } | undefined;
  const measures = () => {
    const t = now();
    if (!cached || t - cached.at > 1000 || t < cached.at) cached = { at: t, value: ledger.measures(t) };
    return cached.value;
  };
  const registers = [registry];
  const perArm = (name: string, help: string, read: (m: WindowMeasures) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['arm'],
      registers,
      collect() {
        for (const [arm, m] of measures()) this.set({ arm }, read(m));
      },
    });
  new Gauge({
    name: 'ralm_ab_arm_share',
    help: 'Configured traffic share of each experiment arm.',
    labelNames: ['arm'],
    registers,
    collect() {
      for (const arm of arms) this.set({ arm: arm.name }, arm.share);
    },
  });
  perArm('ralm_ab_window_exposures', 'Distinct (user, item) exposures over the sliding day (HyperLogLog estimate, ~0.8% error).', (m) => m.exposures);
  perArm('ralm_ab_window_exposure_events', 'Exposure events over the sliding day.', (m) => m.exposureEvents);
  perArm('ralm_ab_window_clicks', 'Click events over the sliding day.', (m) => m.clicks);
  perArm('ralm_ab_window_ctr', 'Clicks / exposure events over the sliding day (NaN with no exposures).', (m) => m.ctr);
  perArm('ralm_ab_window_category_diversity', 'Mean distinct categories a reader read over the sliding day.', (m) => m.categoryDiversity.mean);
  perArm('ralm_ab_window_tag_diversity', 'Mean distinct tags a reader read over the sliding day.', (m) => m.tagDiversity.mean);
  perArm('ralm_ab_window_click_gini', 'Standard Gini of clicks over the items exposed in the sliding day (lower = clicks spread over more items).', (m) => m.gini);
  for (const [what, label, read] of [
    ['category', 'categories', (m: WindowMeasures) => m.categoryDiversity],
    ['tag', 'tags', (m: WindowMeasures) => m.tagDiversity],
  ] as const) {
    new Gauge({
      name: `ralm_ab_window_${what}_diversity_readers`,
      help: `Readers over the sliding day by distinct ${label} read (estimated from the user sample), the top bucket open-ended.`,
      labelNames: ['arm', label],
      registers,
      collect() {
        for (const [arm, m] of measures()) {
          const d = read(m);
          for (let c = 1; c <= DIVERSITY_TOP; c++) this.set({ arm, [label]: diversityBucket(c) }, d.users[c]! / m.userSampleRate);
        }
      },
    });
  }
  for (const [name, help, read] of [
    ['ralm_ab_window_tracked', 'Users (diversity) and items (Gini) held in memory per arm; bounded by AB_MAX_USERS / AB_MAX_ITEMS.', (m: WindowMeasures, e: string) => (e === 'users' ? m.trackedUsers : m.trackedItems)],
    ['ralm_ab_window_sample_rate', 'Share of users / items the bounded sample keeps (1 = all).', (m: WindowMeasures, e: string) => (e === 'users' ? m.userSampleRate : m.itemSampleRate)],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['arm', 'entity'],
      registers,
      collect() {
        for (const [arm, m] of measures()) for (const entity of ['users', 'items']) this.set({ arm, entity }, read(m, entity));
      },
    });
  }
}
