{{/*
One set of templates over the `components` map: every helper takes a dict with
`root` (the chart's top context), `key` (the component's key, e.g. lookalikeScorer)
and `c` (the component merged over `defaults`).
*/}}

{{- define "ralm.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The component merged over the defaults; a component's own keys win. */}}
{{- define "ralm.component" -}}
{{- $merged := mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy .c) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* <release>-ralm-<service>: the name of the component's workload, Service and policies. */}}
{{/*
"true" for the services that call other RALM services (the roles of security/policy.ts
other than recommender and operator): they need a way to prove themselves.
*/}}
{{- define "ralm.callsPeers" -}}
{{- if has .service (list "clusterer" "clusterer-worker" "lookalike-scorer") }}true{{ end -}}
{{- end -}}

{{- define "ralm.name" -}}
{{- printf "%s-%s" (include "ralm.fullname" .root) .c.service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ralm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ralm
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "ralm.selectorLabels" . }}
{{- end -}}

{{- define "ralm.selectorLabels" -}}
app.kubernetes.io/name: ralm
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .c.service }}
{{- end -}}

{{- define "ralm.image" -}}
{{- $name := .c.image | default .c.service -}}
{{- printf "%s/ralm-%s:%s" .root.Values.image.registry $name (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* host:port of another component's gRPC Service. */}}
{{- define "ralm.address" -}}
{{- $other := index .root.Values.components .target -}}
{{- printf "%s-%s:%v" (include "ralm.fullname" .root) $other.service (.root.Values.defaults.grpcPort) -}}
{{- end -}}

{{- define "ralm.claimName" -}}
{{- $s := index .root.Values.storage .volume -}}
{{- $s.existingClaim | default (printf "%s-%s" (include "ralm.fullname" .root) .volume) -}}
{{- end -}}

{{- define "ralm.mountPath" -}}
{{- printf "/var/lib/ralm/%s" . -}}
{{- end -}}

{{/* The container environment: common variables, then what this component needs, then its own `env`. */}}
{{- define "ralm.env" -}}
{{- $root := .root -}}
{{- $c := .c -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: GRPC_HOST
  value: "0.0.0.0"
- name: GRPC_PORT
  value: {{ $c.grpcPort | quote }}
- name: METRICS_PORT
  value: {{ $c.metricsPort | quote }}
- name: NATS_URL
  value: {{ $root.Values.nats.url | quote }}
- name: NATS_REPLICAS
  value: {{ $root.Values.nats.replicas | quote }}
{{- with $root.Values.nats.auth.existingSecret }}
- name: NATS_USER
  value: {{ printf "ralm-%s" $c.service | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $c.service | quote }}}
- name: NATS_INBOX_PREFIX
  value: {{ printf "_INBOX_ralm-%s" $c.service | quote }}
{{- end }}
{{- if $root.Values.nats.tls.caSecret }}
- name: NATS_TLS_CA_FILE
  value: /var/run/ralm/nats-tls/ca.crt
{{- end }}
{{- $sec := $root.Values.security }}
- name: GRPC_TLS
  value: {{ $sec.grpcTls | quote }}
{{- if ne $sec.grpcTls "off" }}
- name: GRPC_TLS_CERT_FILE
  value: /var/run/ralm/tls/tls.crt
- name: GRPC_TLS_KEY_FILE
  value: /var/run/ralm/tls/tls.key
- name: GRPC_TLS_CA_FILE
  value: /var/run/ralm/tls/ca.crt
- name: GRPC_TLS_RELOAD_SECONDS
  value: {{ $sec.reloadSeconds | quote }}
- name: GRPC_HEALTH_PORT
  value: {{ $sec.healthPort | quote }}
{{- end }}
- name: GRPC_AUTH
  value: {{ $sec.auth | quote }}
{{- if $sec.jwt.jwksSecret }}
- name: AUTH_JWT_JWKS_FILE
  value: /var/run/ralm/jwks/jwks.json
{{- end }}
{{- with $sec.jwt.jwksUrl }}
- name: AUTH_JWT_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- with $sec.jwt.issuer }}
- name: AUTH_JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $sec.jwt.audience }}
- name: AUTH_JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- if and $sec.jwt.serviceTokenSecret (include "ralm.callsPeers" $c) }}
- name: GRPC_CLIENT_TOKEN_FILE
  value: /var/run/ralm/service-token/token
{{- end }}
- name: LOG_LEVEL
  value: {{ $c.logLevel | quote }}
- name: SHUTDOWN_GRACE_SECONDS
  value: {{ $c.shutdownGraceSeconds | quote }}
- name: GRPC_MAX_CONCURRENT_STREAMS
  value: {{ $c.grpcMaxConcurrentStreams | quote }}
{{- with $c.rpcLimits }}
- name: RPC_LIMITS
  value: {{ . | quote }}
{{- end }}
- name: STATE_DIR
  value: /tmp/state
- name: EXPERIMENT_ID
  value: {{ $root.Values.experiment.id | quote }}
- name: EXPERIMENT_SALT
  value: {{ $root.Values.experiment.salt | quote }}
- name: EXPERIMENT_ARMS
  value: {{ $root.Values.experiment.arms | quote }}
{{- if has $c.service (list "seed-collector" "clusterer" "clusterer-worker" "lookalike-scorer") }}
- name: SERVABLE_MIN_SEEDS
  value: {{ $root.Values.lookalike.servableMinSeeds | quote }}
- name: CLUSTER_K
  value: {{ $root.Values.lookalike.k | quote }}
{{- end }}
{{- if eq $c.kind "StatefulSet" }}
{{- /* The ordinal comes from HOSTNAME (<name>-<ordinal>), which the StatefulSet sets. */}}
- name: SEED_PARTITIONS
  value: {{ $c.partitions | quote }}
- name: SEED_REPLICAS
  value: {{ $c.replicas | quote }}
{{- end }}
{{- if has $c.service (list "clusterer" "clusterer-worker") }}
- name: SEED_COLLECTOR_ADDR
  value: {{ include "ralm.address" (dict "root" $root "target" "seedCollector") | quote }}
- name: USER_EMBEDDING_ADDR
  value: {{ include "ralm.address" (dict "root" $root "target" "userEmbedding") | quote }}
{{- end }}
{{- if eq $c.service "clusterer-worker" }}
- name: CLUSTERER_ROLE
  value: worker
{{- end }}
{{- $workers := $root.Values.components.clustererWorker }}
{{- if and (eq $c.service "clusterer") $workers $workers.enabled }}
{{- /* A job for each worker, and one for the coordinator itself. */}}
- name: CLUSTER_JOBS_IN_FLIGHT
  value: {{ add1 (int $workers.replicas) | quote }}
{{- end }}
{{- if eq $c.service "lookalike-scorer" }}
- name: CLUSTERER_ADDR
  value: {{ include "ralm.address" (dict "root" $root "target" "clusterer") | quote }}
- name: SEED_COLLECTOR_ADDR
  value: {{ include "ralm.address" (dict "root" $root "target" "seedCollector") | quote }}
{{- end }}
{{- if hasKey $c.volumes "models" }}
- name: MODEL_ROOT
  value: {{ include "ralm.mountPath" "models" }}
{{- end }}
{{- /* The three that serve or cluster with a model are pinned together: the scorer uses only clusters of its own version. */}}
{{- if and $root.Values.model.version (has $c.service (list "user-embedding" "lookalike-scorer" "clusterer")) }}
- name: MODEL_VERSION
  value: {{ $root.Values.model.version | quote }}
{{- end }}
{{- if $c.perReplicaDurables }}
{{- /* Each replica follows every event with its own consumers; the bus deletes those of gone pods after an hour. */}}
- name: MODELS_DURABLE
  value: $(POD_NAME)
- name: DURABLE_PREFIX
  value: $(POD_NAME)
- name: DURABLE_INACTIVE_SECONDS
  value: "3600"
{{- end }}
{{- if eq $c.service "trainer" }}
- name: TRAINING_WORK_DIR
  value: {{ include "ralm.mountPath" "training" }}
- name: TRAINING_DATA_ROOT
  value: {{ include "ralm.mountPath" "data" }}
- name: TRAINING_JOB_DATA_DIR
  value: {{ printf "%s/%s" (include "ralm.mountPath" "data") $c.dataDir | quote }}
- name: TRAINING_JOB_CONFIG
  value: {{ toJson $c.config | quote }}
- name: TRAINING_JOB_PUBLISH
  value: {{ $c.publish | quote }}
- name: TRAINING_JOB_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['batch.kubernetes.io/job-name']
{{- end }}
{{- if $root.Values.otel.enabled }}
- name: OTEL_SERVICE_NAME
  value: {{ $c.service | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $root.Values.otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $root.Values.otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $root.Values.otel.samplerArg | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=ralm,k8s.namespace.name=%s%s" $root.Release.Namespace (ternary (printf ",%s" $root.Values.otel.resourceAttributes) "" (ne $root.Values.otel.resourceAttributes "")) | quote }}
{{- end }}
{{- range $name, $value := $c.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The pod spec every workload kind shares. */}}
{{- define "ralm.podSpec" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- with $root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
enableServiceLinks: false
automountServiceAccountToken: false
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ $c.service }}
    image: {{ include "ralm.image" . }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    ports:
      - name: grpc
        containerPort: {{ $c.grpcPort }}
        protocol: TCP
      - name: metrics
        containerPort: {{ $c.metricsPort }}
        protocol: TCP
      {{- if ne $root.Values.security.grpcTls "off" }}
      - name: health
        containerPort: {{ $root.Values.security.healthPort }}
        protocol: TCP
      {{- end }}
    env:
      {{- include "ralm.env" . | nindent 6 }}
    {{- if has $c.kind (list "Deployment" "StatefulSet") }}
    {{- /* The kubelet's gRPC probe speaks no TLS: with TLS on it asks the plaintext health-only port. */}}
    {{- $probePort := ternary $c.grpcPort $root.Values.security.healthPort (eq $root.Values.security.grpcTls "off") }}
    startupProbe:
      grpc: {port: {{ $probePort }}}
      {{- toYaml $c.probes.startup | nindent 6 }}
    readinessProbe:
      grpc: {port: {{ $probePort }}}
      {{- toYaml $c.probes.readiness | nindent 6 }}
    livenessProbe:
      grpc: {port: {{ $probePort }}}
      {{- toYaml $c.probes.liveness | nindent 6 }}
    {{- end }}
    resources:
      requests:
        {{- toYaml $c.resources.requests | nindent 8 }}
      limits:
        {{- toYaml $c.resources.limits | nindent 8 }}
        {{- if and $c.gpu $c.gpu.enabled }}
        {{ $c.gpu.resourceName }}: {{ $c.gpu.count }}
        {{- end }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if ne $root.Values.security.grpcTls "off" }}
      - name: tls
        mountPath: /var/run/ralm/tls
        readOnly: true
      {{- end }}
      {{- if $root.Values.security.jwt.jwksSecret }}
      - name: jwks
        mountPath: /var/run/ralm/jwks
        readOnly: true
      {{- end }}
      {{- if and $root.Values.security.jwt.serviceTokenSecret (include "ralm.callsPeers" $c) }}
      - name: service-token
        mountPath: /var/run/ralm/service-token
        readOnly: true
      {{- end }}
      {{- if $root.Values.nats.tls.caSecret }}
      - name: nats-tls
        mountPath: /var/run/ralm/nats-tls
        readOnly: true
      {{- end }}
      {{- range $volume, $mode := $c.volumes }}
      - name: {{ $volume }}
        mountPath: {{ include "ralm.mountPath" $volume }}
        readOnly: {{ eq $mode "ro" }}
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  {{- if ne $root.Values.security.grpcTls "off" }}
  - name: tls
    secret:
      secretName: {{ include "ralm.name" . }}-tls
  {{- end }}
  {{- with $root.Values.security.jwt.jwksSecret }}
  - name: jwks
    secret:
      secretName: {{ . }}
  {{- end }}
  {{- if and $root.Values.security.jwt.serviceTokenSecret (include "ralm.callsPeers" $c) }}
  - name: service-token
    secret:
      secretName: {{ $root.Values.security.jwt.serviceTokenSecret }}
      items: [{key: {{ printf "%s.token" ($c.role | default $c.service) }}, path: token}]
  {{- end }}
  {{- with $root.Values.nats.tls.caSecret }}
  - name: nats-tls
    secret:
      secretName: {{ . }}
      items: [{key: ca.crt, path: ca.crt}]
  {{- end }}
  {{- range $volume, $mode := $c.volumes }}
  - name: {{ $volume }}
    persistentVolumeClaim:
      claimName: {{ include "ralm.claimName" (dict "root" $root "volume" $volume) }}
      readOnly: {{ eq $mode "ro" }}
  {{- end }}
{{- end -}}

{{/* The Job spec of the training run, shared by Job and CronJob. */}}
{{- define "ralm.jobSpec" -}}
backoffLimit: {{ .c.backoffLimit }}
# Exit codes of the Trainer's batch mode (services/trainer/src/batch.ts): a bad config (78) or
# a missing dataset (66) fails the Job at once, since a retry cannot fix either; an eviction
# does not count against backoffLimit; a failed run (1) or an interrupted one (143) is retried
# and resumes from its checkpoints.
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        containerName: {{ .c.service }}
        operator: In
        values: [66, 78]
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
activeDeadlineSeconds: {{ .c.activeDeadlineSeconds }}
ttlSecondsAfterFinished: {{ .c.ttlSecondsAfterFinished }}
template:
  metadata:
    labels:
      {{- include "ralm.labels" . | nindent 6 }}
  spec:
    restartPolicy: Never
    {{- include "ralm.podSpec" . | nindent 4 }}
{{- end -}}

{{/* A NetworkPolicy peer from {namespaceSelector, podSelector}; an empty namespaceSelector means the release's namespace. */}}
{{- define "ralm.peer" -}}
{{- if .namespaceSelector }}
namespaceSelector:
  {{- toYaml .namespaceSelector | nindent 2 }}
{{- end }}
podSelector:
  {{- toYaml (.podSelector | default dict) | nindent 2 }}
{{- end -}}
