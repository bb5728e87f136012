/**
 * What matters in the rendered chart, asserted on `helm template` output for each
 * values set `make helm-lint` renders: GPU only on the Trainer, probes on every
 * Deployment, limits on every container, NetworkPolicies equal to the call graph, the
 * singletons never doubled, the one copy of the rules and the dashboard.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..');
const CHART = path.join(ROOT, 'charts', 'ralm');
const HELM = execFileSync('node', [path.join(ROOT, 'scripts', 'ensure-helm.mjs')], { cwd: ROOT, encoding: 'utf8' }).trim();
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'ralm-helm-test-'));
afterAll(() => fs.rmSync(HOME, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: any; data?: Record<string, string> };

function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HOME, HELM_CACHE_HOME: path.join(HOME, 'c'), HELM_CONFIG_HOME: path.join(HOME, 'g'), HELM_DATA_HOME: path.join(HOME, 'd') } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function render(...args: string[]): K8sObject[] {
  const r = helm(['template', 'ralm', CHART, '--namespace', 'ralm', '--kube-version', '1.29.0', ...args]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const VALUE_SETS: Record<string, string[]> = {
  default: [],
  cpu: ['-f', path.join(CHART, 'values-cpu.yaml')],
  minimal: ['-f', path.join(CHART, 'ci', 'minimal-values.yaml')],
  'gpu-all-on': ['-f', path.join(CHART, 'ci', 'gpu-values.yaml')],
};
const rendered = Object.fromEntries(Object.entries(VALUE_SETS).map(([name, args]) => [name, render(...args)]));

const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
/** Pod specs of workloads, by component. */
function pods(objects: K8sObject[]): Array<{ component: string; kind: string; spec: any }> {
  return objects.flatMap((o) => {
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job') return [{ component: component(o)!, kind: o.kind, spec: o.spec.template.spec }];
    if (o.kind === 'CronJob') return [{ component: component(o)!, kind: o.kind, spec: o.spec.jobTemplate.spec.template.spec }];
    return [];
  });
}
const envOf = (container: any) => Object.fromEntries((container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));

describe.each(Object.keys(VALUE_SETS))('the chart with %s values', (name) => {
  const objects = rendered[name]!;
  const workloads = pods(objects);

  it('runs all five services', () => {
    expect(workloads.map((w) => w.component).sort()).toEqual(['clusterer', 'lookalike-scorer', 'seed-collector', 'trainer', 'user-embedding']);
  });

  it('puts GPU limits, the GPU node pool and its toleration on the Trainer only', () => {
    for (const w of workloads) {
      const limits = w.spec.containers[0].resources.limits as Record<string, unknown>;
      const gpu = Object.keys(limits).filter((k) => k.endsWith('/gpu'));
      const tolerations = (w.spec.tolerations ?? []) as Array<{ key: string }>;
      if (w.component === 'trainer' && (name === 'default' || name === 'gpu-all-on')) {
        expect(gpu).toEqual(['nvidia.com/gpu']);
        expect(limits['nvidia.com/gpu']).toBe(name === 'default' ? 1 : 2);
        expect(tolerations.map((t) => t.key)).toContain('nvidia.com/gpu');
        expect(w.spec.nodeSelector).toEqual({ 'ralm.io/pool': 'gpu' });
        expect(w.spec.containers[0].image).toMatch(/\/ralm-trainer-gpu:/);
      } else {
        expect({ component: w.component, gpu }).toEqual({ component: w.component, gpu: [] });
        expect({ component: w.component, tolerations }).toEqual({ component: w.component, tolerations: [] });
        expect(w.spec.nodeSelector).toBeUndefined();
      }
    }
  });

  it('gives every Deployment gRPC startup, readiness and liveness probes: on the plaintext health port with TLS, else on the gRPC port', () => {
    const deployments = workloads.filter((w) => w.kind === 'Deployment');
    expect(deployments).toHaveLength(4);
    for (const d of deployments) {
      const c = d.spec.containers[0];
      const tls = envOf(c)['GRPC_TLS'] !== 'off';
      const port = c.ports.find((p: { name: string }) => p.name === (tls ? 'health' : 'grpc')).containerPort;
      if (tls) expect(envOf(c)['GRPC_HEALTH_PORT']).toBe(String(port));
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect({ [d.component]: c[probe]?.grpc }).toEqual({ [d.component]: { port } });
    }
  });

  it('sets cpu and memory requests and limits on every container, and runs it non-root on a read-only root filesystem', () => {
    for (const w of workloads) {
      for (const c of w.spec.containers) {
        for (const kind of ['requests', 'limits']) expect(Object.keys(c.resources[kind]).filter((k) => k === 'cpu' || k === 'memory').sort()).toEqual(['cpu', 'memory']);
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      }
      expect(w.spec.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(w.spec.securityContext.runAsUser).toBeGreaterThan(0);
    }
  });

  it('never runs two seed collectors or clusterers at once, and gives scaled services their own bus consumers', () => {
    for (const o of objects.filter((x) => x.kind === 'Deployment')) {
      const env = envOf(o.spec.template.spec.containers[0]);
      if (component(o) === 'seed-collector' || component(o) === 'clusterer') {
        expect(o.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
        expect(env['MODELS_DURABLE']).toBeUndefined();
      } else {
        expect(o.spec.strategy.type).toBe('RollingUpdate');
        expect(env).toMatchObject({ MODELS_DURABLE: '$(POD_NAME)', DURABLE_PREFIX: '$(POD_NAME)', DURABLE_INACTIVE_SECONDS: '3600' });
      }
    }
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.spec.scaleTargetRef.name)).toEqual(name === 'minimal' ? [] : ['ralm-lookalike-scorer']);
    const scorer = objects.find((o) => o.kind === 'Deployment' && component(o) === 'lookalike-scorer')!;
    // With an HPA the Deployment must not fight it over replicas.
    expect(scorer.spec.replicas).toBe(name === 'minimal' ? 1 : undefined);
  });

  it('hands the experiment to the scorer and the seed collector identically', () => {
    const experimentOf = (svc: string) => {
      const env = envOf(workloads.find((w) => w.component === svc)!.spec.containers[0]);
      return [env['EXPERIMENT_ID'], env['EXPERIMENT_SALT'], env['EXPERIMENT_ARMS']];
    };
    expect(experimentOf('lookalike-scorer')).toEqual(experimentOf('seed-collector'));
    expect(experimentOf('seed-collector')[2]).toBe(name === 'gpu-all-on' ? 'control:45,treatment:45,canary:10' : 'control:50,treatment:50');
  });

  it('hands the look-alike rules (minimum seeds, k) to the seed collector, clusterer and scorer from one value each', () => {
    const rulesOf = (svc: string) => {
      const containers = workloads.find((w) => w.component === svc)!.spec.containers[0];
      const names = containers.env.map((e: { name: string }) => e.name);
      // Once each: a second entry (a component's own env) would silently win in Kubernetes.
      expect(names.filter((n: string) => n === 'SERVABLE_MIN_SEEDS' || n === 'CLUSTER_K')).toHaveLength(2);
      const env = envOf(containers);
      return [env['SERVABLE_MIN_SEEDS'], env['CLUSTER_K']];
    };
    for (const svc of ['seed-collector', 'clusterer', 'lookalike-scorer']) expect(rulesOf(svc)).toEqual(['100', '20']);
    expect(envOf(workloads.find((w) => w.component === 'user-embedding')!.spec.containers[0])['CLUSTER_K']).toBeUndefined();
  });
});

describe('NetworkPolicies', () => {
  /** caller component → callee component, from the ingress rules on the gRPC port; 'upstream' for the upstream selector. */
  function ingressEdges(objects: K8sObject[]): string[] {
    const edges: string[] = [];
    for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
      const callee = np.spec.podSelector.matchLabels['app.kubernetes.io/component'];
      for (const rule of np.spec.ingress ?? []) {
        if (!rule.ports.some((p: { port: string }) => p.port === 'grpc')) continue;
        for (const peer of rule.from) {
          const caller = peer.podSelector?.matchLabels?.['app.kubernetes.io/component'];
          edges.push(`${caller ?? 'upstream'} -> ${callee}`);
        }
      }
    }
    return edges.sort();
  }
  function egressEdges(objects: K8sObject[]): string[] {
    const edges: string[] = [];
    for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
      const caller = np.spec.podSelector.matchLabels['app.kubernetes.io/component'];
      for (const rule of np.spec.egress) {
        for (const peer of rule.to) {
          const callee = peer.podSelector?.matchLabels?.['app.kubernetes.io/component'];
          if (callee) edges.push(`${caller} -> ${callee}`);
        }
      }
    }
    return edges.sort();
  }
  const CALL_GRAPH = ['clusterer -> seed-collector', 'clusterer -> user-embedding', 'lookalike-scorer -> clusterer', 'lookalike-scorer -> seed-collector'];
  const UPSTREAM = ['upstream -> lookalike-scorer', 'upstream -> seed-collector', 'upstream -> trainer'];

  it('let exactly the call graph and the upstream callers in, and the same edges out', () => {
    const objects = rendered['default']!;
    expect(objects.filter((o) => o.kind === 'NetworkPolicy')).toHaveLength(5);
    expect(ingressEdges(objects)).toEqual([...CALL_GRAPH, ...UPSTREAM].sort());
    expect(egressEdges(objects)).toEqual(CALL_GRAPH);
  });

  it('let only the Prometheus selector reach the metrics ports, and every pod reach NATS and DNS', () => {
    for (const np of rendered['default']!.filter((o) => o.kind === 'NetworkPolicy')) {
      const metrics = np.spec.ingress.filter((r: any) => r.ports.some((p: { port: string }) => p.port === 'metrics'));
      expect(metrics).toEqual([{ ports: [{ port: 'metrics', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: {} }] }]);
      const egressPorts = np.spec.egress.flatMap((r: any) => r.ports.map((p: { port: number }) => p.port));
      expect(egressPorts).toEqual(expect.arrayContaining([53, 4222]));
    }
  });

  it('let traces out to the collector namespace, and follow a component whose gRPC port differs', () => {
    for (const np of rendered['gpu-all-on']!.filter((o) => o.kind === 'NetworkPolicy')) {
      expect(np.spec.egress).toContainEqual({ ports: [{ port: 4317, protocol: 'TCP' }], to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } }, podSelector: {} }] });
    }
    const objects = render('--set', 'components.seedCollector.grpcPort=7000');
    const clusterer = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ralm-clusterer')!;
    const toSeedCollector = clusterer.spec.egress.find((r: any) => r.to[0].podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'seed-collector');
    expect(toSeedCollector.ports).toEqual([{ port: 7000, protocol: 'TCP' }]);
  });

  it('follow the upstream selector and drop a disabled component from the graph', () => {
    const objects = render('-f', path.join(CHART, 'ci', 'gpu-values.yaml'), '--set', 'components.clusterer.enabled=false');
    expect(ingressEdges(objects)).toEqual(['lookalike-scorer -> seed-collector', ...UPSTREAM].sort());
    const scorer = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'ralm-lookalike-scorer')!;
    expect(scorer.spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'recommender' } }, podSelector: { matchLabels: { app: 'feed-ranker' } } }]);
    expect(egressEdges(objects)).toEqual(['lookalike-scorer -> seed-collector']);
  });
});

describe('observability objects', () => {
  it('ship the one copy of the recording rules and of the dashboard', () => {
    const objects = rendered['default']!;
    const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
    expect(rule.spec).toEqual(parse(fs.readFileSync(path.join(CHART, 'files', 'prometheus', 'ralm.rules.yml'), 'utf8')));
    const dashboard = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ralm-dashboard')!;
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(dashboard.data!['ralm-dashboard.json']!)).toEqual(JSON.parse(fs.readFileSync(path.join(CHART, 'files', 'grafana', 'ralm-dashboard.json'), 'utf8')));
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', honorLabels: true }]);
    // The training Job has no Service: a PodMonitor scrapes its pods while they run.
    const podMonitors = objects.filter((o) => o.kind === 'PodMonitor');
    expect(podMonitors.map((p) => p.spec.selector.matchLabels['app.kubernetes.io/component'])).toEqual(['trainer']);
    expect(podMonitors[0]!.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', honorLabels: true }]);
    expect(rendered['minimal']!.filter((o) => o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor')).toEqual([]);
  });

  it('configure tracing only when enabled', () => {
    const traced = pods(rendered['gpu-all-on']!).map((w) => envOf(w.spec.containers[0]));
    for (const env of traced) expect(env).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4317', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' });
    expect(new Set(traced.map((e) => e['OTEL_SERVICE_NAME'])).size).toBe(5);
    for (const w of pods(rendered['default']!)) expect(envOf(w.spec.containers[0])['OTEL_EXPORTER_OTLP_ENDPOINT']).toBeUndefined();
  });
});

describe('rollout values', () => {
  it('pins the model on the services that serve or cluster with one, and rolls their pods when it changes', () => {
    const objects = rendered['gpu-all-on']!;
    for (const o of objects.filter((x) => x.kind === 'Deployment')) {
      const env = envOf(o.spec.template.spec.containers[0]);
      const loadsModel = ['user-embedding', 'lookalike-scorer', 'clusterer'].includes(component(o)!);
      expect({ [component(o)!]: env['MODEL_VERSION'] }).toEqual({ [component(o)!]: loadsModel ? '20261128-0300' : undefined });
      // Only those pods roll on a new pin: the seed collector (a singleton) must not restart for it.
      expect({ [component(o)!]: o.spec.template.metadata.annotations?.['ralm.io/model-version'] }).toEqual({ [component(o)!]: loadsModel ? '20261128-0300' : undefined });
    }
    const job = objects.find((o) => o.kind === 'Job')!;
    expect(job.metadata.name).toBe('ralm-trainer-r1');
    expect(envOf(job.spec.template.spec.containers[0])).toMatchObject({ TRAINING_JOB_PUBLISH: 'false', TRAINING_JOB_CONFIG: '{"phase1Epochs":10,"userDim":128}' });
    // A config or dataset error fails the Job at once; an eviction is not a failure; the pod's job id keys resumption.
    expect(job.spec.podFailurePolicy.rules).toEqual([
      { action: 'FailJob', onExitCodes: { containerName: 'trainer', operator: 'In', values: [66, 78] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
    ]);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: 'TRAINING_JOB_ID', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } });
  });

  it('refuses values the schema rules out, naming them', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--set', 'components.trainer.kind=Deployment'], /components\.trainer\.kind/],
      [['--set', 'components.lookalikeScorer.resources.limits=null'], /limits is required/],
      [['--set', 'experiment.arms=everyone'], /experiment\.arms/],
      [['--set', 'nats.url=http://nats:4222'], /nats\.url/],
      [['--set', 'components.seedCollector.strategy.type=BlueGreen'], /strategy\.type/],
      [['--set', 'unknownKey=1'], /unknownKey/],
      [['--set', 'components.clusterer.env.CLUSTER_K=10'], /components\.clusterer\.env/],
      [['--set', 'lookalike.k=0'], /lookalike\.k/],
      [['--set', 'components.lookalikeScorer.rpcLimits=Score=0/10'], /components\.lookalikeScorer\.rpcLimits/],
      [['--set', 'defaults.grpcMaxConcurrentStreams=0'], /grpcMaxConcurrentStreams/],
      [['--set', 'nats.replicas=7'], /nats\.replicas/],
      [['--set', 'security.grpcTls=plain'], /security\.grpcTls/],
      [['--set', 'security.grpcTls=tls'], /security\.auth=required needs a way to prove a caller/],
      [['--set', 'security.jwt.jwksUrl=https://idp/jwks'], /security\.jwt needs issuer and audience/],
      [['--set', 'security.grpcTls=tls', '--set', 'security.jwt.jwksUrl=https://idp/jwks', '--set', 'security.jwt.issuer=https://idp', '--set', 'security.jwt.audience=ralm'], /the clusterer and the scorer call other services and need tokens, security\.jwt\.serviceTokenSecret/],
    ];
    for (const [args, why] of bad) {
      const r = helm(['template', 'ralm', CHART, ...args]);
      expect({ args, status: r.status }).toEqual({ args, status: 1 });
      expect(r.stderr).toMatch(why);
    }
  });
});

describe('clustering workers', () => {
  it('run the clusterer image as workers with the clusterer role, reach the seed collector and user-embedding, and set the coordinator’s jobs in flight', () => {
    const objects = render('--set', 'components.clustererWorker.enabled=true', '--set', 'components.clustererWorker.replicas=3');
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    const worker = deployments.find((o) => component(o) === 'clusterer-worker')!;
    const coordinator = deployments.find((o) => component(o) === 'clusterer')!;
    expect(worker.spec.replicas).toBe(3);
    expect(worker.spec.template.spec.containers[0].image).toBe(coordinator.spec.template.spec.containers[0].image);
    expect(worker.spec.strategy.type).toBe('RollingUpdate');
    expect(envOf(worker.spec.template.spec.containers[0])).toMatchObject({ CLUSTERER_ROLE: 'worker', SEED_COLLECTOR_ADDR: 'ralm-seed-collector:50051', USER_EMBEDDING_ADDR: 'ralm-user-embedding:50051' });
    expect(envOf(coordinator.spec.template.spec.containers[0])).toMatchObject({ CLUSTER_JOBS_IN_FLIGHT: '4' });
    expect(envOf(coordinator.spec.template.spec.containers[0])['CLUSTERER_ROLE']).toBeUndefined();
    const ou = (name: string) => objects.find((o) => o.kind === 'Certificate' && component(o) === name)!.spec.subject.organizationalUnits;
    expect(ou('clusterer-worker')).toEqual(['clusterer']);
    const callersOf = (name: string) =>
      objects.find((o) => o.kind === 'NetworkPolicy' && component(o) === name)!.spec.ingress.flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels?.['app.kubernetes.io/component'])).filter(Boolean);
    for (const callee of ['seed-collector', 'user-embedding']) expect(callersOf(callee)).toEqual(expect.arrayContaining(['clusterer', 'clusterer-worker']));
    // Off by default: the coordinator works alone, one job at a time.
    const defaults = rendered['default']!;
    expect(defaults.some((o) => component(o) === 'clusterer-worker')).toBe(false);
    expect(envOf(defaults.find((o) => o.kind === 'Deployment' && component(o) === 'clusterer')!.spec.template.spec.containers[0])['CLUSTER_JOBS_IN_FLIGHT']).toBeUndefined();
  });
});

describe('a partitioned seed collector', () => {
  it('runs as a StatefulSet with its partitions and replicas, a headless Service for its pods and the usual one for calls', () => {
    // The production values of k8s/values/ partition it.
    const objects = render('-f', path.join(__dirname, '..', 'k8s', 'values', 'production.yaml'));
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    expect(component(sts)).toBe('seed-collector');
    expect(objects.some((o) => o.kind === 'Deployment' && component(o) === 'seed-collector')).toBe(false);
    expect(sts.spec).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel', serviceName: 'ralm-seed-collector-headless' });
    const env = envOf(sts.spec.template.spec.containers[0]);
    expect(env).toMatchObject({ SEED_PARTITIONS: '12', SEED_REPLICAS: '3' });
    // The ordinal comes from the pod's HOSTNAME, never from a value that all pods would share.
    expect(env['SEED_ORDINAL']).toBeUndefined();
    const services = objects.filter((o) => o.kind === 'Service' && component(o) === 'seed-collector').map((o) => [o.metadata.name, o.spec.clusterIP ?? 'ClusterIP']);
    expect(services.sort()).toEqual([['ralm-seed-collector', 'ClusterIP'], ['ralm-seed-collector-headless', 'None']]);
  });

  it('refuses partitions without a StatefulSet, more replicas than partitions, and a StatefulSet of another service', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--set', 'components.seedCollector.partitions=4'], /partitions > 1 needs kind StatefulSet/],
      [['--set', 'components.seedCollector.kind=StatefulSet', '--set', 'components.seedCollector.partitions=2', '--set', 'components.seedCollector.replicas=3'], /replicas <= partitions/],
      [['--set', 'components.clusterer.kind=StatefulSet'], /only the seed collector runs as a StatefulSet/],
    ];
    for (const [args, why] of bad) {
      const r = helm(['template', 'ralm', CHART, ...args]);
      expect({ args, status: r.status }).toEqual({ args, status: 1 });
      expect(r.stderr).toMatch(why);
    }
  });
});

describe('security values', () => {
  const secretOf = (spec: any, name: string) => spec.volumes.find((v: { name: string }) => v.name === name)?.secret;

  it('are secure by default: mTLS from a cert-manager Certificate per service, roles required, per-service NATS users over TLS', () => {
    const objects = rendered['default']!;
    const certificates = objects.filter((o) => o.kind === 'Certificate');
    const workloadsOf = pods(objects);
    expect(certificates.map(component).sort()).toEqual(workloadsOf.map((p) => p.component).sort());
    for (const p of workloadsOf) {
      const c = p.spec.containers[0];
      const env = envOf(c);
      expect({ [p.component]: [env['GRPC_TLS'], env['GRPC_AUTH'], env['NATS_USER']] }).toEqual({ [p.component]: ['mtls', 'required', `ralm-${p.component}`] });
      expect(c.env).toContainEqual({ name: 'NATS_PASSWORD', valueFrom: { secretKeyRef: { name: 'ralm-nats-users', key: p.component } } });
      expect(env['NATS_URL']).toMatch(/^tls:\/\//);
      expect(env['NATS_INBOX_PREFIX']).toBe(`_INBOX_ralm-${p.component}`);
      expect(env['NATS_TLS_CA_FILE']).toBe('/var/run/ralm/nats-tls/ca.crt');
      const cert = certificates.find((o) => component(o) === p.component)!;
      expect(secretOf(p.spec, 'tls')).toEqual({ secretName: cert.spec.secretName });
      expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/var/run/ralm/tls', readOnly: true });
      for (const key of ['GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE', 'GRPC_TLS_CA_FILE']) expect(env[key]).toMatch(/^\/var\/run\/ralm\/tls\/(tls\.crt|tls\.key|ca\.crt)$/);
      // The identity other services check: OU its own name (its role), and the Service's DNS names for callers' hostname checks.
      expect(cert.spec.subject.organizationalUnits).toEqual([p.component]);
      expect(env['GRPC_CLIENT_TOKEN_FILE']).toBeUndefined();
      expect(cert.spec.usages).toEqual(expect.arrayContaining(['server auth', 'client auth']));
      const serviceName = objects.find((o) => o.kind === 'Service' && component(o) === p.component)?.metadata.name;
      if (serviceName) expect(cert.spec.dnsNames).toEqual(expect.arrayContaining([serviceName, `${serviceName}.ralm.svc`]));
    }
  });

  it('let a trusted network turn them off, and add bearer tokens from a JWKS Secret', () => {
    for (const p of pods(rendered['minimal']!)) {
      const env = envOf(p.spec.containers[0]);
      expect({ [p.component]: [env['GRPC_TLS'], env['GRPC_AUTH'], env['NATS_USER']] }).toEqual({ [p.component]: ['off', 'off', undefined] });
      expect(secretOf(p.spec, 'tls')).toBeUndefined();
    }
    expect(rendered['minimal']!.filter((o) => o.kind === 'Certificate')).toEqual([]);
    const jwt = render('--set', 'security.jwt.jwksSecret=idp-jwks', '--set', 'security.jwt.issuer=https://idp', '--set', 'security.jwt.audience=ralm');
    for (const p of pods(jwt)) {
      expect(envOf(p.spec.containers[0])).toMatchObject({ AUTH_JWT_JWKS_FILE: '/var/run/ralm/jwks/jwks.json', AUTH_JWT_ISSUER: 'https://idp', AUTH_JWT_AUDIENCE: 'ralm' });
      expect(secretOf(p.spec, 'jwks')).toEqual({ secretName: 'idp-jwks' });
    }
  });

  it('with TLS and tokens, give the clusterer and the scorer each its own token from serviceTokenSecret, and no one else', () => {
    const objects = render(
      ...['security.grpcTls=tls', 'security.jwt.jwksSecret=idp-jwks', 'security.jwt.issuer=https://idp', 'security.jwt.audience=ralm', 'security.jwt.serviceTokenSecret=ralm-service-tokens'].flatMap((v) => ['--set', v]),
    );
    const callers = pods(objects).filter((p) => envOf(p.spec.containers[0])['GRPC_CLIENT_TOKEN_FILE']);
    expect(callers.map((p) => p.component).sort()).toEqual(['clusterer', 'lookalike-scorer']);
    for (const p of callers) {
      expect(envOf(p.spec.containers[0])['GRPC_CLIENT_TOKEN_FILE']).toBe('/var/run/ralm/service-token/token');
      expect(secretOf(p.spec, 'service-token')).toEqual({ secretName: 'ralm-service-tokens', items: [{ key: `${p.component}.token`, path: 'token' }] });
      expect(p.spec.containers[0].volumeMounts).toContainEqual({ name: 'service-token', mountPath: '/var/run/ralm/service-token', readOnly: true });
    }
  });
});

describe('admission values', () => {
  it("hand a component's rpcLimits to that component only, and the stream limit to every one", () => {
    const objects = render('--set', 'components.lookalikeScorer.rpcLimits=Score=128/1024\\,ScoreBatch=512/2048', '--set', 'defaults.grpcMaxConcurrentStreams=500');
    for (const p of pods(objects)) {
      const env = envOf(p.spec.containers[0]);
      expect({ [p.component]: env['RPC_LIMITS'] }).toEqual({ [p.component]: p.component === 'lookalike-scorer' ? 'Score=128/1024,ScoreBatch=512/2048' : undefined });
      expect({ [p.component]: env['GRPC_MAX_CONCURRENT_STREAMS'] }).toEqual({ [p.component]: '500' });
    }
  });

  it('hand every service the stream and bucket replicas: 3 with the production values', () => {
    const production = render('-f', path.join(ROOT, 'k8s', 'values', 'production.yaml'));
    for (const p of pods(production)) expect({ [p.component]: envOf(p.spec.containers[0])['NATS_REPLICAS'] }).toEqual({ [p.component]: '3' });
    for (const p of pods(rendered['default']!)) expect({ [p.component]: envOf(p.spec.containers[0])['NATS_REPLICAS'] }).toEqual({ [p.component]: '1' });
  });
});

describe('scripts/validate-k8s.mjs', () => {
  const validate = (text: string) => spawnSync('node', [path.join(ROOT, 'scripts', 'validate-k8s.mjs')], { cwd: ROOT, input: text, encoding: 'utf8' });
  const good = helm(['template', 'ralm', CHART]).stdout;

  it('accepts the rendered chart', () => {
    const r = validate(good);
    expect(r.stdout).toMatch(/29 objects, 0 invalid/);
    expect(r.status).toBe(0);
  });

  it.each([
    ['a misspelt field, which the API server would drop silently', good.replace('namespaceSelector:', 'namespaceSelectr:'), /unknown field\(s\): \.spec\.egress\[0\]\.to\[0\]\.namespaceSelectr/],
    ['a wrong type', good.replace('containerPort: 50051', 'containerPort: "50051"'), /containerPort must be integer/],
    ['an unknown kind', good.replace('kind: CronJob', 'kind: CronJobs'), /no schema for this apiVersion and kind/],
    ['nothing at all', '', /0 objects/],
  ])('refuses %s', (_what, text, why) => {
    const r = validate(text);
    expect(r.status).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toMatch(why);
  });
});
