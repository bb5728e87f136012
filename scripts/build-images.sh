#!/usr/bin/env bash
# Builds the RALM images: one per service from ./Dockerfile (--build-arg SERVICE=<name>)
# and the CUDA trainer from ./Dockerfile.trainer-gpu.
#
#   scripts/build-images.sh                      # all six
#   scripts/build-images.sh lookalike-scorer     # some of them (trainer-gpu is one name)
#
# Environment:
#   REGISTRY  image name prefix                 (default: ralm)  -> $REGISTRY/ralm-<name>:$TAG
#   TAG       image tag                         (default: git short SHA, "-dirty" when the
#                                                tree has uncommitted changes; "dev" outside git)
#   PUSH=1    push every image once built
#   ENGINE    docker or podman                  (default: docker, else podman)
#   PLATFORM  e.g. linux/amd64                  (default: the engine's)
#   BUILD_ARGS extra arguments for every build, e.g. "--no-cache --pull"
# Exit status: 0 built (and pushed), 2 no usable container engine, else the failing step's.
set -euo pipefail

cd "$(dirname "$0")/.."

SERVICES=(user-embedding seed-collector clusterer lookalike-scorer trainer)
ALL=("${SERVICES[@]}" trainer-gpu)

# die <exit status> <message>
die() { echo "build-images: $2" >&2; exit "$1"; }

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac

# Which images; every name checked before anything is built.
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  ok=0
  for a in "${ALL[@]}"; do [ "$t" = "$a" ] && ok=1; done
  [ "$ok" = 1 ] || die 1 "unknown image '$t' (one of: ${ALL[*]})"
done

# The container engine.
engine="${ENGINE:-}"
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null 2>&1; then
    engine=podman
  else
    die 2 "neither docker nor podman is installed (set ENGINE to another docker-compatible CLI)"
  fi
fi
command -v "$engine" >/dev/null 2>&1 || die 2 "ENGINE=$engine: not found"
"$engine" info >/dev/null 2>&1 \
  || die 2 "$engine is installed but cannot reach its daemon/service ('$engine info' fails)"

# Tag and labels.
revision=unknown
default_tag=dev
if revision_sha="$(git rev-parse --verify --quiet HEAD 2>/dev/null)"; then
  revision="$revision_sha"
  default_tag="$(git rev-parse --short HEAD)"
  git diff-index --quiet HEAD -- 2>/dev/null || default_tag="${default_tag}-dirty"
fi
registry="${REGISTRY:-ralm}"
registry="${registry%/}"
tag="${TAG:-$default_tag}"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

common=(--build-arg "VERSION=$tag" --build-arg "REVISION=$revision" --build-arg "CREATED=$created")
# podman/buildah default to the OCI image format, which has no SHELL instruction
# (the Dockerfiles' bash -o pipefail would be ignored with a warning).
if [ "$(basename "$engine")" = podman ]; then
  common+=(--format docker)
fi
if [ -n "${PLATFORM:-}" ]; then
  common+=(--platform "$PLATFORM")
fi
if [ -n "${BUILD_ARGS:-}" ]; then
  read -r -a extra <<<"$BUILD_ARGS"
  common+=("${extra[@]}")
fi

built=()
for t in "${targets[@]}"; do
  image="$registry/ralm-$t:$tag"
  echo "==> $image" >&2
  if [ "$t" = trainer-gpu ]; then
    "$engine" build "${common[@]}" -f Dockerfile.trainer-gpu -t "$image" .
  else
    "$engine" build "${common[@]}" -f Dockerfile --build-arg "SERVICE=$t" -t "$image" .
  fi
  built+=("$image")
done

if [ "${PUSH:-0}" = 1 ]; then
  for image in "${built[@]}"; do
    echo "==> push $image" >&2
    "$engine" push "$image"
  done
fi

printf '%s\n' "${built[@]}"
