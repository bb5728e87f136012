#!/usr/bin/env bash
# Lints and renders charts/ralm for each supported values set (default = GPU training,
# the CPU fallback, the minimal install, everything on), with `helm lint --strict` and the
# chart's values.schema.json, then validates every rendered object against the Kubernetes
# schemas offline (scripts/validate-k8s.mjs). Helm comes from scripts/ensure-helm.mjs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

helm=$(node scripts/ensure-helm.mjs)
# A throwaway HOME: no repository config or cache of the caller's leaks into the result.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch" HELM_CACHE_HOME="$scratch/cache" HELM_CONFIG_HOME="$scratch/config" HELM_DATA_HOME="$scratch/data"

chart=charts/ralm
declare -A sets=(
  [default]=""
  [cpu]="-f $chart/values-cpu.yaml"
  [minimal]="-f $chart/ci/minimal-values.yaml"
  [gpu-all-on]="-f $chart/ci/gpu-values.yaml"
  [staging]="-f $chart/values-cpu.yaml -f k8s/values/staging.yaml"
  [production]="-f k8s/values/production.yaml"
)
for name in default cpu minimal gpu-all-on staging production; do
  # shellcheck disable=SC2086 # the values flags are meant to split
  "$helm" lint --strict --quiet "$chart" ${sets[$name]} >"$scratch/lint.txt" 2>&1 || { cat "$scratch/lint.txt"; echo "helm-lint: lint failed for the $name values" >&2; exit 1; }
  # shellcheck disable=SC2086
  "$helm" template ralm "$chart" --namespace ralm --kube-version 1.29.0 ${sets[$name]} >"$scratch/$name.yaml"
  printf 'helm-lint: %-11s ' "$name"
  node scripts/validate-k8s.mjs "$scratch/$name.yaml"
done
printf 'helm-lint: %-11s ' "k8s/"
node scripts/validate-k8s.mjs k8s/namespace.yaml
