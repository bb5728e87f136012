/**
 * The A/B measurement as operators run it: a real Prometheus (Debian `prometheus`)
 * scrapes the five services of a loopback mesh, feedback arrives over gRPC, and the
 * recording rules (the one copy the Helm chart ships) evaluate to the hand-computed
 * per-arm values and lifts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { callUnary } from '@ralm/platform';
import { FeedbackKind, type FeedbackEvent } from '@ralm/proto/feedback';
import { expectStatus } from './support/grpc';
import { startLoopbackMesh, type LoopbackMesh } from './support/mesh';
import { startPrometheus, type PrometheusServer, type Sample } from './support/prometheus';

jest.setTimeout(120_000);

const RULES = path.join(__dirname, '..', 'charts', 'ralm', 'files', 'prometheus', 'ralm.rules.yml');

describe('A/B measures through a real Prometheus and the recording rules', () => {
  let root: string;
  let loop: LoopbackMesh;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ralm-ab-prom-'));
    loop = await startLoopbackMesh('memory', { STATE_DIR: path.join(root, 'state'), MODEL_ROOT: path.join(root, 'models'), TRAINING_WORK_DIR: path.join(root, 'training') });
    prometheus = await startPrometheus({
      jobs: [{ job: 'ralm', targets: loop.mesh.services.map((s) => `127.0.0.1:${s.host.metricsPort}`) }],
      ruleFiles: [RULES],
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await loop?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  const now = Date.now();
  const event = (eventId: string, userId: string, itemId: string, arm: string, click: boolean, category = 'A', tags: string[] = ['x']): FeedbackEvent => ({
    eventId,
    userId,
    itemId,
    arm,
    kind: click ? FeedbackKind.FEEDBACK_KIND_CLICK : FeedbackKind.FEEDBACK_KIND_EXPOSURE,
    timestampMs: now - 60_000,
    category,
    tags,
  });
  const byArm = (samples: Sample[]) => Object.fromEntries(samples.map((s) => [s.metric['arm'], s.value]));
  const near = (expected: Record<string, number>, digits = 9) => (samples: Sample[]) => {
    const got = byArm(samples);
    return Object.entries(expected).every(([arm, v]) => Math.abs((got[arm] ?? NaN) - v) < 10 ** -digits);
  };

  it('scrapes every service and evaluates each lift to its hand-computed value', async () => {
    // control: 5 users see 2 items each (10 distinct exposures); 2 of them read one item each (category A, tag x).
    const control: FeedbackEvent[] = [];
    for (let u = 0; u < 5; u++) for (let k = 0; k < 2; k++) control.push(event(`ce${u}${k}`, `c${u}`, `i${2 * u + k}`, 'control', false));
    control.push(event('cc0', 'c0', 'i0', 'control', true), event('cc1', 'c1', 'i2', 'control', true));
    // treatment: 6 users see 2 items each (12); t0 reads j0 (A; x, y) and j1 (B; z), t1 reads j2 (A; x).
    const treatment: FeedbackEvent[] = [];
    for (let u = 0; u < 6; u++) for (let k = 0; k < 2; k++) treatment.push(event(`te${u}${k}`, `t${u}`, `j${2 * u + k}`, 'treatment', false));
    treatment.push(event('tc0', 't0', 'j0', 'treatment', true, 'A', ['x', 'y']), event('tc1', 't0', 'j1', 'treatment', true, 'B', ['z']), event('tc2', 't1', 'j2', 'treatment', true));
    // Counters start at 0 for every arm; once scraped, the feedback below is an increase rate() sees.
    await prometheus.waitFor('ralm_ab_exposures_total', (s) => s.length === 2 && s.every((x) => x.value === 0), 30_000);
    const fb = loop.clients.feedback;
    await expect(callUnary(fb.reportFeedback.bind(fb), { events: control })).resolves.toMatchObject({ accepted: 12 });
    await expect(callUnary(fb.reportFeedback.bind(fb), { events: treatment })).resolves.toMatchObject({ accepted: 15 });
    await expectStatus(callUnary(fb.reportFeedback.bind(fb), { events: [event('bad', 'u', 'i', 'holdout', false)] }), status.INVALID_ARGUMENT);

    // CTR 2/10 vs 3/12: +25 %. Category diversity: mean 1 vs (2 + 1)/2 = 1.5: +50 %. Tags: 1 vs (3 + 1)/2 = 2: +100 %.
    // Gini of clicks over exposed items: [1,1,0×8] → 0.8; [1,1,1,0×9] → 0.75: −6.25 % (clicks spread wider).
    await prometheus.waitFor('arm:ralm_ab_ctr:1d', near({ control: 0.2, treatment: 0.25 }), 30_000);
    await prometheus.waitFor('arm:ralm_ab_ctr:lift1d', near({ control: 0, treatment: 0.25 }), 30_000);
    await prometheus.waitFor('arm:ralm_ab_category_diversity:lift1d', near({ control: 0, treatment: 0.5 }), 30_000);
    await prometheus.waitFor('arm:ralm_ab_tag_diversity:lift1d', near({ control: 0, treatment: 1 }), 30_000);
    await prometheus.waitFor('arm:ralm_ab_click_gini:1d', near({ control: 0.8, treatment: 0.75 }), 30_000);
    await prometheus.waitFor('arm:ralm_ab_click_gini:lift1d', near({ control: 0, treatment: -0.0625 }), 30_000);
    // Distinct exposures per unit of traffic share: 10 / 0.5 vs 12 / 0.5, +20 % (a HyperLogLog estimate: near, not exact).
    await prometheus.waitFor('arm:ralm_ab_exposures_per_share:lift1d', near({ control: 0, treatment: 0.2 }, 2), 30_000);
    // The counters' rates give the same CTR.
    await prometheus.waitFor('arm:ralm_ab_ctr:ratio_rate5m', near({ control: 0.2, treatment: 0.25 }), 30_000);

    // The services' own health: the refused call is the seed collector's only error.
    const errors = await prometheus.waitFor('service:ralm_rpc_errors_per_calls:ratio_rate5m{service="seed-collector"}', (s) => s.length === 1 && s[0]!.value > 0, 30_000);
    expect(errors[0]!.value).toBeLessThanOrEqual(1 / 3 + 1e-9);
    const targets = await prometheus.targets();
    expect(targets.map((t) => [t.labels['service'] ?? t.scrapeUrl, t.health])).toHaveLength(5);
    expect(targets.every((t) => t.health === 'up')).toBe(true);
    const rules = await prometheus.recordingRules();
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
  });
});
