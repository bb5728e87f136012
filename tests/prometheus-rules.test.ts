/**
 * The recording rules (charts/ralm/files/prometheus/ralm.rules.yml), their promtool unit tests,
 * and the Grafana dashboard (charts/ralm/files/grafana/ralm-dashboard.json): promtool checks,
 * a static check that the dashboard only names rules and metrics that exist, and the rules and
 * every dashboard query evaluated on a real Prometheus scraping fixed expositions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPrometheus, type PrometheusServer, type Sample } from './support/prometheus';

const FILES = path.join(__dirname, '..', 'charts', 'ralm', 'files');
const RULES = path.join(FILES, 'prometheus', 'ralm.rules.yml');
const RULES_TEST = path.join(FILES, 'prometheus', 'ralm.rules.test.yml');
const DASHBOARD = path.join(FILES, 'grafana', 'ralm-dashboard.json');

const SERVICES = ['user_embedding', 'seed_collector', 'clusterer', 'lookalike_scorer', 'trainer'];
const SERVICE_METRICS = SERVICES.flatMap((s) => [
  `ralm_${s}_rpc_duration_seconds_bucket`,
  `ralm_${s}_rpc_duration_seconds_count`,
  `ralm_${s}_rpc_duration_seconds_sum`,
  `ralm_${s}_rpc_errors_total`,
]);
const AB_METRICS = [
  'ralm_ab_exposures_total',
  'ralm_ab_clicks_total',
  'ralm_ab_assignments_total',
  'ralm_ab_arm_share',
  'ralm_ab_window_exposures',
  'ralm_ab_window_exposure_events',
  'ralm_ab_window_clicks',
  'ralm_ab_window_ctr',
  'ralm_ab_window_category_diversity',
  'ralm_ab_window_tag_diversity',
  'ralm_ab_window_category_diversity_readers',
  'ralm_ab_window_tag_diversity_readers',
  'ralm_ab_window_click_gini',
  'ralm_ab_window_tracked',
  'ralm_ab_window_sample_rate',
];
/** The metrics the services export (by their issue), as PromQL sees them. */
const EXPORTED = new Set([...AB_METRICS, ...SERVICE_METRICS]);

const MEASURES = ['exposures_per_share', 'ctr', 'category_diversity', 'tag_diversity', 'click_gini'];
const DAY_RULES = MEASURES.map((m) => `arm:ralm_ab_${m}:1d`);
const LIFT_RULES = MEASURES.map((m) => `arm:ralm_ab_${m}:lift1d`);
const HEALTH_RULES = [
  'service_method_le:ralm_rpc_duration_seconds_bucket:rate5m',
  'service_method:ralm_rpc_duration_seconds:p50_rate5m',
  'service_method:ralm_rpc_duration_seconds:p99_rate5m',
  'service:ralm_rpc_errors:rate5m',
  'service:ralm_rpc_calls:rate5m',
  'service:ralm_rpc_errors_per_calls:ratio_rate5m',
];
const ALL_RULES = [
  'arm:ralm_ab_exposures:rate5m',
  'arm:ralm_ab_clicks:rate5m',
  'arm:ralm_ab_ctr:ratio_rate5m',
  'arm:ralm_ab_assignments:rate5m',
  ...DAY_RULES,
  ...LIFT_RULES,
  ...HEALTH_RULES,
];

interface Rule {
  record: string;
  expr: string;
}

/** The rules in file order; every rule in the file is one `- record:` line followed by a one-line `expr:`. */
function readRules(text: string): Rule[] {
  return [...text.matchAll(/^\s*- record:\s*(\S+)\s*\n\s*expr:\s*(.+?)\s*$/gm)].map((m) => ({ record: m[1]!, expr: m[2]! }));
}

/** The metric and rule names an expression selects: every `ralm_…` identifier and every name with a colon, outside string literals. */
function namesIn(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const names = new Set<string>();
  for (const m of code.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)/g)) {
    if (m[1]!.startsWith('ralm_') || m[1]!.includes(':')) names.add(m[1]!);
  }
  return [...names];
}

/** `{__name__=~"…"}` regexes in an expression. */
function nameRegexesIn(expr: string): string[] {
  return [...expr.matchAll(/__name__=~"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
}

function promtool(args: string[], cwd?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', cwd });
  if (result.error) throw new Error(`promtool is not installed (Debian package 'prometheus'; \`make test\` installs it): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const rulesText = readFileSync(RULES, 'utf8');
const rules = readRules(rulesText);
const ruleNames = new Set(rules.map((r) => r.record));

describe('recording rules', () => {
  it('defines exactly the documented rules, each name by level:metric:operations', () => {
    expect(rules.map((r) => r.record)).toEqual(ALL_RULES);
    expect((rulesText.match(/^\s*- record:/gm) ?? []).length).toBe(rules.length);
    for (const r of rules) expect(r.record).toMatch(/^[a-z_]+:ralm_[a-z0-9_]+:[a-z0-9_]+$/);
  });

  it('passes promtool check rules', () => {
    const check = promtool(['check', 'rules', RULES]);
    expect(check.output).toContain(`SUCCESS: ${ALL_RULES.length} rules found`);
    expect(check.status).toBe(0);
  });

  it('reads only exported metrics and rules defined earlier in the file', () => {
    const defined = new Set<string>();
    for (const r of rules) {
      for (const name of namesIn(r.expr)) {
        expect({ rule: r.record, name, known: EXPORTED.has(name) || defined.has(name) }).toEqual({ rule: r.record, name, known: true });
      }
      defined.add(r.record);
    }
    // The name regexes of the service-health rules pick up each service's series and nothing else.
    const regexes = rules.flatMap((r) => nameRegexesIn(r.expr).map((re) => ({ rule: r.record, re })));
    expect(regexes.length).toBe(4);
    for (const { rule, re } of regexes) {
      const matched = [...EXPORTED].filter((n) => new RegExp(`^(?:${re})$`).test(n));
      expect({ rule, count: matched.length }).toEqual({ rule, count: SERVICES.length });
    }
  });

  it('passes its promtool unit tests', () => {
    const run = promtool(['test', 'rules', RULES_TEST]);
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  describe('the promtool unit tests can fail', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'ralm-rules-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const runIn = (rulesBody: string, testBody: string) => {
      writeFileSync(path.join(dir, 'ralm.rules.yml'), rulesBody);
      writeFileSync(path.join(dir, 'ralm.rules.test.yml'), testBody);
      return promtool(['test', 'rules', 'ralm.rules.test.yml'], dir);
    };
    const testText = readFileSync(RULES_TEST, 'utf8');

    it('the unchanged copies pass', () => {
      expect(runIn(rulesText, testText).status).toBe(0);
    });

    it('a wrong expected lift fails', () => {
      const wrong = testText.replace(/(lift1d\{arm="treatment"\}'\n\s*value: )0\.0625/, '$10.0626');
      expect(wrong).not.toBe(testText);
      const run = runIn(rulesText, wrong);
      expect(run.status).not.toBe(0);
      expect(run.output).toContain('arm:ralm_ab_ctr:lift1d');
    });

    it('a lift rule without the "- 1" fails', () => {
      const broken = rulesText.replace(/(record: arm:ralm_ab_tag_diversity:lift1d\n\s*expr: .*) - 1$/m, '$1');
      expect(broken).not.toBe(rulesText);
      const run = runIn(broken, testText);
      expect(run.status).not.toBe(0);
      expect(run.output).toContain('arm:ralm_ab_tag_diversity:lift1d');
    });

    it('summing the day gauges instead of max fails the duplicated-target test', () => {
      const broken = rulesText.replace('max by (arm) (ralm_ab_window_category_diversity)', 'sum by (arm) (ralm_ab_window_category_diversity)');
      expect(broken).not.toBe(rulesText);
      const run = runIn(broken, testText);
      expect(run.status).not.toBe(0);
      expect(run.output).toContain('arm:ralm_ab_category_diversity:1d');
    });
  });
});

// ---------------------------------------------------------------------------- dashboard

interface Target {
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  options?: { content?: string };
  fieldConfig?: { defaults?: { unit?: string } };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { type?: string; uid?: string } }> };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const exprs = (p: Panel): string[] => (p.targets ?? []).map((t) => t.expr ?? '');
const names = (p: Panel): string[] => exprs(p).flatMap(namesIn);
/** Top-level panels grouped under the row panel before them (rows are expanded). */
function rows(d: Dashboard): Map<string, Panel[]> {
  const out = new Map<string, Panel[]>();
  let current: Panel[] | undefined;
  for (const p of d.panels) {
    if (p.type === 'row') out.set(p.title, (current = []));
    else current?.push(p);
  }
  return out;
}
const panelText = (ps: Panel[]): string => ps.map((p) => `${p.title}\n${p.description ?? ''}\n${p.options?.content ?? ''}`).join('\n');

describe('Grafana dashboard', () => {
  const byRow = rows(dashboard);
  const row = (title: string): Panel[] => {
    const ps = byRow.get(title);
    if (!ps) throw new Error(`no row "${title}"; rows: ${[...byRow.keys()].join(', ')}`);
    return ps;
  };
  const data = dashboard.panels.filter((p) => p.type !== 'row' && p.type !== 'text');

  it('is a dashboard with uid ralm-ab, schemaVersion >= 38, and datasource and arm variables', () => {
    expect(dashboard.uid).toBe('ralm-ab');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars.get('arm')).toMatchObject({ type: 'query', datasource: { type: 'prometheus', uid: '${datasource}' } });
    expect(JSON.stringify(vars.get('arm')!.query)).toContain('label_values(ralm_ab_window_ctr, arm)');
  });

  it('queries the datasource variable in every panel and target, with unique ids and no overlapping panels', () => {
    expect(data.length).toBeGreaterThan(15);
    for (const p of data) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({ panel: p.title, ds: { type: 'prometheus', uid: '${datasource}' } });
      expect({ panel: p.title, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, targets: true });
      for (const t of p.targets ?? []) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    const clashes: string[] = [];
    for (const p of dashboard.panels) {
      if (p.gridPos.x < 0 || p.gridPos.x + p.gridPos.w > 24) clashes.push(`${p.title}: outside the 24 columns`);
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          const taken = cells.get(`${x},${y}`);
          if (taken !== undefined) clashes.push(`${p.title} overlaps ${taken} at ${x},${y}`);
          cells.set(`${x},${y}`, p.title);
        }
      }
    }
    expect(clashes).toEqual([]);
  });

  it('names only metrics the services export and rules the rules file defines', () => {
    const unknown = data.flatMap((p) => names(p).filter((n) => !EXPORTED.has(n) && !ruleNames.has(n)).map((n) => `${p.title}: ${n}`));
    const vars = dashboard.templating.list.flatMap((v) => namesIn(typeof v.query === 'string' ? v.query : (v.query as { query: string }).query));
    expect(vars).toEqual(['ralm_ab_window_ctr', 'service:ralm_rpc_calls:rate5m']);
    expect(unknown).toEqual([]);
    expect(vars.filter((n) => !EXPORTED.has(n) && !ruleNames.has(n))).toEqual([]);
    // The check itself catches a misspelt or invented name.
    expect(namesIn('sum by (arm) (rate(ralm_ab_bogus_total{arm=~"$arm"}[5m])) / arm:ralm_ab_ctr:2d')).toEqual(['ralm_ab_bogus_total', 'arm:ralm_ab_ctr:2d']);
    expect(namesIn('label_replace(max by (arm) (ralm_ab_arm_share), "x", "ralm_nope:1", "arm", "(.*)")')).toEqual(['ralm_ab_arm_share']);
  });

  it('has an "A/B measures" row with a time series by arm for each sliding-day measure', () => {
    const ps = row('A/B measures');
    for (const rule of DAY_RULES) {
      const panel = ps.find((p) => names(p).includes(rule));
      expect({ rule, type: panel?.type, legend: panel?.targets?.[0]?.legendFormat }).toEqual({ rule, type: 'timeseries', legend: '{{arm}}' });
    }
    const gini = ps.find((p) => names(p).includes('arm:ralm_ab_click_gini:1d'))!;
    expect(`${gini.title} ${gini.description}`).toMatch(/lower/i);
    expect(gini.description).toMatch(/opposite|other way round/i);
  });

  it('has a "Lift vs control" row with the five lifts in percent and the paper\'s Table 2 figures', () => {
    const ps = row('Lift vs control');
    for (const rule of LIFT_RULES) {
      const panel = ps.find((p) => p.type === 'timeseries' && names(p).includes(rule));
      expect({ rule, unit: panel?.fieldConfig?.defaults?.unit }).toEqual({ rule, unit: 'percentunit' });
    }
    const text = panelText(ps);
    for (const figure of ['+9.112%', '+1.09%', '+8.435%', '+15.938%', '+5.36%', 'Table 2']) expect(text).toContain(figure);
    const gini = ps.find((p) => p.type === 'timeseries' && names(p).includes('arm:ralm_ab_click_gini:lift1d'))!;
    expect(gini.description).toMatch(/opposite/);
  });

  it('shows the diversity distributions, sampling, and a "Services" row with latency, error ratio and Score traffic', () => {
    const byName = (n: string) => data.filter((p) => names(p).includes(n));
    for (const gauge of ['ralm_ab_window_category_diversity_readers', 'ralm_ab_window_tag_diversity_readers']) {
      expect(byName(gauge).map((p) => p.type)).toEqual([expect.stringMatching(/^(barchart|bargauge|heatmap)$/)]);
    }
    expect(byName('ralm_ab_window_tracked').length).toBe(1);
    expect(byName('ralm_ab_window_sample_rate').length).toBe(1);
    const services = row('Services').flatMap(names);
    for (const rule of ['service_method:ralm_rpc_duration_seconds:p50_rate5m', 'service_method:ralm_rpc_duration_seconds:p99_rate5m', 'service:ralm_rpc_errors_per_calls:ratio_rate5m', 'arm:ralm_ab_assignments:rate5m']) {
      expect(services).toContain(rule);
    }
  });
});

// ---------------------------------------------------------------------------- on a real Prometheus

/** Counters grow at `perSecond` from the moment the fake targets start; one response reads one clock. */
interface Fixture {
  start: number;
  elapsedMs: number;
}
const counter = (f: Fixture, perSecond: number): string => String((perSecond * f.elapsedMs) / 1000);

/** One SeedCollector: two arms, control 60% of traffic, treatment 40%. */
function seedCollectorBody(f: Fixture): string {
  const l = (arm: string, extra = '') => `{arm="${arm}"${extra},service="seed-collector"}`;
  const lines = [
    '# TYPE ralm_ab_exposures_total counter',
    `ralm_ab_exposures_total${l('control')} ${counter(f, 100)}`,
    `ralm_ab_exposures_total${l('treatment')} ${counter(f, 200)}`,
    '# TYPE ralm_ab_clicks_total counter',
    `ralm_ab_clicks_total${l('control')} ${counter(f, 10)}`,
    `ralm_ab_clicks_total${l('treatment')} ${counter(f, 22)}`,
    '# TYPE ralm_ab_arm_share gauge',
    `ralm_ab_arm_share${l('control')} 0.6`,
    `ralm_ab_arm_share${l('treatment')} 0.4`,
    '# TYPE ralm_ab_window_exposures gauge',
    `ralm_ab_window_exposures${l('control')} 1200`,
    `ralm_ab_window_exposures${l('treatment')} 880`,
    '# TYPE ralm_ab_window_exposure_events gauge',
    `ralm_ab_window_exposure_events${l('control')} 5000`,
    `ralm_ab_window_exposure_events${l('treatment')} 4000`,
    '# TYPE ralm_ab_window_clicks gauge',
    `ralm_ab_window_clicks${l('control')} 500`,
    `ralm_ab_window_clicks${l('treatment')} 440`,
    '# TYPE ralm_ab_window_ctr gauge',
    `ralm_ab_window_ctr${l('control')} 0.1`,
    `ralm_ab_window_ctr${l('treatment')} 0.11`,
    '# TYPE ralm_ab_window_category_diversity gauge',
    `ralm_ab_window_category_diversity${l('control')} 2`,
    `ralm_ab_window_category_diversity${l('treatment')} 2.5`,
    '# TYPE ralm_ab_window_tag_diversity gauge',
    `ralm_ab_window_tag_diversity${l('control')} 4`,
    `ralm_ab_window_tag_diversity${l('treatment')} 5.5`,
    '# TYPE ralm_ab_window_click_gini gauge',
    `ralm_ab_window_click_gini${l('control')} 0.5`,
    `ralm_ab_window_click_gini${l('treatment')} 0.4`,
    '# TYPE ralm_ab_window_category_diversity_readers gauge',
    '# TYPE ralm_ab_window_tag_diversity_readers gauge',
    '# TYPE ralm_ab_window_tracked gauge',
    '# TYPE ralm_ab_window_sample_rate gauge',
  ];
  for (const arm of ['control', 'treatment']) {
    for (const [n, readers] of [['1', 60], ['2', 30], ['16+', 1]] as const) {
      lines.push(`ralm_ab_window_category_diversity_readers${l(arm, `,categories="${n}"`)} ${readers}`);
      lines.push(`ralm_ab_window_tag_diversity_readers${l(arm, `,tags="${n}"`)} ${readers}`);
    }
    lines.push(`ralm_ab_window_tracked${l(arm, ',entity="users"')} 1000`, `ralm_ab_window_tracked${l(arm, ',entity="items"')} 100`);
    lines.push(`ralm_ab_window_sample_rate${l(arm, ',entity="users"')} 1`, `ralm_ab_window_sample_rate${l(arm, ',entity="items"')} 0.5`);
  }
  // GetSeedStats: cumulative per second le 0.25: 1, 0.5: 3, 1: 4, +Inf: 4; 0.5 errors per second.
  lines.push(...histogram(f, 'seed_collector', 'seed-collector', 'SeedCollectorService/GetSeedStats', [1, 3, 4, 4], 0.5));
  return `${lines.join('\n')}\n`;
}

/** One LookalikeScorer: Score replies per arm, and a histogram with every call under 0.25 s and no errors. */
function lookalikeScorerBody(f: Fixture): string {
  const lines = [
    '# TYPE ralm_ab_assignments_total counter',
    `ralm_ab_assignments_total{arm="control",service="lookalike-scorer"} ${counter(f, 10)}`,
    `ralm_ab_assignments_total{arm="treatment",service="lookalike-scorer"} ${counter(f, 30)}`,
    ...histogram(f, 'lookalike_scorer', 'lookalike-scorer', 'LookalikeScorerService/Score', [2, 2, 2, 2], 0),
  ];
  return `${lines.join('\n')}\n`;
}

function histogram(f: Fixture, prefix: string, service: string, method: string, cumulativePerSecond: number[], errorsPerSecond: number): string[] {
  const name = `ralm_${prefix}_rpc_duration_seconds`;
  const l = (extra: string) => `{method="${method}",code="OK"${extra},service="${service}"}`;
  const lines = [`# TYPE ${name} histogram`];
  ['0.25', '0.5', '1', '+Inf'].forEach((le, i) => lines.push(`${name}_bucket${l(`,le="${le}"`)} ${counter(f, cumulativePerSecond[i]!)}`));
  lines.push(`${name}_sum${l('')} ${counter(f, 1)}`, `${name}_count${l('')} ${counter(f, cumulativePerSecond[3]!)}`);
  lines.push(`# TYPE ralm_${prefix}_rpc_errors_total counter`);
  if (errorsPerSecond > 0) lines.push(`ralm_${prefix}_rpc_errors_total{method="${method}",code="NOT_FOUND",service="${service}"} ${counter(f, errorsPerSecond)}`);
  return lines;
}

/** Serves `body` (rendered with the time elapsed since `start`) on GET /metrics. */
async function serve(start: number, body: (f: Fixture) => string): Promise<{ target: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body({ start, elapsedMs: Date.now() - start }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `{labelValue: value}` of the samples, keyed by one label. */
const byLabel = (samples: Sample[], label: string): Record<string, number> => Object.fromEntries(samples.map((s) => [s.metric[label] ?? '', s.value]));

function expectValues(samples: Sample[], label: string, expected: Record<string, number>): void {
  const got = byLabel(samples, label);
  expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    expect({ [key]: got[key] }).toEqual({ [key]: expect.closeTo(value, 9) });
  }
}

describe('the rules and the dashboard on a real Prometheus', () => {
  let prom: PrometheusServer | undefined;
  const servers: Array<{ target: string; close(): Promise<void> }> = [];

  beforeAll(async () => {
    const start = Date.now();
    // Two SeedCollector targets report the same window (a duplicated target), one LookalikeScorer.
    servers.push(await serve(start, seedCollectorBody), await serve(start, seedCollectorBody), await serve(start, lookalikeScorerBody));
    prom = await startPrometheus({
      jobs: [
        { job: 'seed-collector', targets: [servers[0]!.target, servers[1]!.target] },
        { job: 'lookalike-scorer', targets: [servers[2]!.target] },
      ],
      ruleFiles: [RULES],
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
    // Prometheus 2.x hands static targets to the scraper ~5 s after start (no flag shortens it in
    // 2.42); rates then need two scrapes, and the lift group reads the day group's output.
    for (const expr of ['arm:ralm_ab_ctr:ratio_rate5m', 'arm:ralm_ab_assignments:rate5m', 'service:ralm_rpc_errors_per_calls:ratio_rate5m', ...LIFT_RULES]) {
      await prom.waitFor(expr, (s) => s.length === 2, 20_000);
    }
  }, 25_000);

  afterAll(async () => {
    await prom?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('scrapes all three targets and evaluates every rule without error', async () => {
    let targets = await prom!.targets();
    for (const deadline = Date.now() + 5_000; targets.some((t) => t.health === 'unknown') && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      targets = await prom!.targets();
    }
    expect(targets.map((t) => `${t.job} ${t.health}`).sort()).toEqual(['lookalike-scorer up', 'seed-collector up', 'seed-collector up']);
    const states = await prom!.recordingRules();
    expect(states.map((r) => r.name).sort()).toEqual([...ALL_RULES].sort());
    expect(states.filter((r) => r.health !== 'ok')).toEqual([]);
  });

  it('computes each lift vs control from the sliding-day gauges (control 0, exposure per share, not doubled by the duplicate target)', async () => {
    expectValues(await prom!.query('arm:ralm_ab_exposures_per_share:1d'), 'arm', { control: 2000, treatment: 2200 });
    expectValues(await prom!.query('arm:ralm_ab_exposures_per_share:lift1d'), 'arm', { control: 0, treatment: 0.1 });
    expectValues(await prom!.query('arm:ralm_ab_ctr:lift1d'), 'arm', { control: 0, treatment: 0.1 });
    expectValues(await prom!.query('arm:ralm_ab_category_diversity:lift1d'), 'arm', { control: 0, treatment: 0.25 });
    expectValues(await prom!.query('arm:ralm_ab_tag_diversity:lift1d'), 'arm', { control: 0, treatment: 0.375 });
    expectValues(await prom!.query('arm:ralm_ab_click_gini:lift1d'), 'arm', { control: 0, treatment: -0.2 });
  });

  it('computes the per-arm rates, the 5-minute CTR, latency quantiles and error ratios', async () => {
    const ratio = (samples: Sample[]) => byLabel(samples, 'arm')['treatment']! / byLabel(samples, 'arm')['control']!;
    // Absolute rates over [5m] depend on how many seconds were scraped; their proportions do not.
    const exposures = await prom!.query('arm:ralm_ab_exposures:rate5m');
    expect(exposures.every((s) => s.value > 0)).toBe(true);
    expect(ratio(exposures)).toBeCloseTo(2, 9);
    expect(ratio(await prom!.query('arm:ralm_ab_assignments:rate5m'))).toBeCloseTo(3, 9);
    expectValues(await prom!.query('arm:ralm_ab_ctr:ratio_rate5m'), 'arm', { control: 0.1, treatment: 0.11 });
    expectValues(await prom!.query('service_method:ralm_rpc_duration_seconds:p50_rate5m'), 'service', { 'seed-collector': 0.375, 'lookalike-scorer': 0.125 });
    expectValues(await prom!.query('service_method:ralm_rpc_duration_seconds:p99_rate5m'), 'service', { 'seed-collector': 0.98, 'lookalike-scorer': 0.2475 });
    // 8 OK calls and 1 error a second: calls are OK observations plus errors.
    expectValues(await prom!.query('service:ralm_rpc_errors_per_calls:ratio_rate5m'), 'service', { 'seed-collector': 1 / 9, 'lookalike-scorer': 0 });
  });

  it('answers every dashboard query with data', async () => {
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: (t.expr ?? '').replace(/\$arm|\$service/g, '.+') })));
    expect(queries.length).toBeGreaterThan(25);
    for (const q of queries) {
      const samples = await prom!.query(q.expr);
      expect({ ...q, empty: samples.length === 0 }).toEqual({ ...q, empty: false });
    }
    expect(Object.keys(byLabel(await prom!.query('max by (arm) (ralm_ab_window_ctr)'), 'arm')).sort()).toEqual(['control', 'treatment']);
  });
});
