# RALM service image: one Dockerfile for the five gRPC services.
#
#   docker build --build-arg SERVICE=lookalike-scorer -t ralm/ralm-lookalike-scorer:dev .
#
# SERVICE is one of user-embedding, seed-collector, clusterer, lookalike-scorer, trainer
# (scripts/build-images.sh builds all five; Dockerfile.trainer-gpu is the Trainer on CUDA).
#
# Every image holds the same application tree (all workspaces, production node_modules,
# the OpenBLAS scoring addon); SERVICE only picks the entry point. Every layer before the
# SERVICE argument is therefore byte-identical across the five images, so a registry and a
# node store it once, and the build runs `npm ci` and the native build once for all five.
#
# Runtime contract (the Helm chart runs it with readOnlyRootFilesystem: true):
#   - runs as UID/GID 10001; the application files are owned by root and read-only to it;
#   - nothing is written to the image filesystem. Writable paths, each a volume when used:
#       STATE_DIR=/var/lib/ralm/state            LMDB state and the bus journal; only
#                                                without NATS_URL (embedded mode)
#       MODEL_ROOT=/var/lib/ralm/models          trainer: read-write; user-embedding and
#                                                lookalike-scorer: read-only
#       TRAINING_WORK_DIR=/var/lib/ralm/training trainer only (checkpoints)
#       TRAINING_DATA_ROOT=/var/lib/ralm/data    trainer only, read-only: StartTraining's
#                                                data_dir is a directory under it
#       /tmp                                     emptyDir advised (TMPDIR; tsx's cache is off)
#   - tini is PID 1 and forwards SIGTERM to node, which drains gRPC and exits;
#   - no HEALTHCHECK: Kubernetes probes use the gRPC health service.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# build: npm ci from the lockfile, the native kernel, then production dependencies only.
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential python3 libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# Manifests first, so the dependency layers are rebuilt only when one of them changes.
# Every workspace (apps/*, packages/*, services/*) must be listed: `npm ci` fails otherwise.
COPY package.json package-lock.json ./
COPY apps/ralm/package.json apps/ralm/
COPY apps/ralm/bin/ apps/ralm/bin/
COPY packages/data/package.json packages/data/
COPY packages/eval/package.json packages/eval/
COPY packages/experiment/package.json packages/experiment/
COPY packages/kernel/package.json packages/kernel/
COPY packages/mesh/package.json packages/mesh/
COPY packages/model/package.json packages/model/
COPY packages/platform/package.json packages/platform/
COPY services/clusterer/package.json services/clusterer/
COPY services/lookalike-scorer/package.json services/lookalike-scorer/
COPY services/seed-collector/package.json services/seed-collector/
COPY services/trainer/package.json services/trainer/
COPY services/user-embedding/package.json services/user-embedding/

# --ignore-scripts: the optional @tensorflow/tfjs-node and tfjs-node-gpu (in the lockfile
# through @ralm/model) would otherwise download libtensorflow (hundreds of MB) into every
# image. Only the packages whose install scripts matter here are then rebuilt: esbuild
# (checks its binary; tsx runs on it) and lmdb / msgpackr-extract (pick their prebuilt
# addons). The remaining install scripts (protobufjs, core-js) only print messages.
RUN npm ci --ignore-scripts \
 && npm rebuild esbuild lmdb msgpackr-extract

# The OpenBLAS scoring addon (lookalike-scorer), against this image's Node headers, offline.
COPY packages/kernel/binding.gyp packages/kernel/
COPY packages/kernel/native/ packages/kernel/native/
RUN bash packages/kernel/native/build.sh \
 && node -e "console.log('ralm_kernel:', JSON.stringify(require('./packages/kernel/build/Release/ralm_kernel.node').config()))"

# Production dependencies only. tsx (and esbuild under it) stays: it is a dependency of
# the @ralm/ralm workspace (apps/ralm), not only a root devDependency. The tfjs-node packages are
# removed outright (no libtensorflow in these images: the Trainer trains on the wasm
# backend here and on CUDA with Dockerfile.trainer-gpu). Source maps go too: ~200 MB,
# nearly all tfjs bundles' (node_modules 436 MB -> 215 MB); Node skips a missing map.
RUN npm prune --omit=dev --ignore-scripts \
 && rm -rf node_modules/@tensorflow/tfjs-node node_modules/@tensorflow/tfjs-node-gpu \
 && find node_modules -name '*.map' -type f -delete \
 && node -e "for (const m of ['tsx', 'esbuild', 'lmdb', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) require.resolve(m)" \
 && test ! -e node_modules/typescript && test ! -e node_modules/node-gyp

# Sources last: editing TypeScript rebuilds nothing above.
COPY tsconfig.json ./
COPY proto/ proto/
COPY packages/ packages/
COPY services/ services/

# The runtime tree, and only it: no tests, no build intermediates, no proto tooling.
# Files end up 0644 / directories 0755 (executables keep their x bit), owned by root.
RUN mkdir -p /out/app \
 && cp -a --parents \
      package.json tsconfig.json node_modules \
      proto/ralm proto/gen/ts \
      apps/*/package.json apps/*/src apps/ralm/bin packages/*/package.json packages/*/src \
      packages/kernel/build/Release/ralm_kernel.node \
      services/*/package.json services/*/src \
      /out/app/ \
 && chown -R 0:0 /out/app \
 && chmod -R u=rwX,go=rX /out/app

# ---------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# libopenblas0: the addon's libopenblas.so.0. tini: PID 1, forwards signals, reaps zombies.
# UID/GID 10001 get a passwd entry so os.userInfo() works (OpenTelemetry's process.owner).
# /var/lib/ralm/* exist and belong to 10001 so that `docker run -v name:/var/lib/ralm/...`
# volumes start writable; with a read-only root filesystem they are only mount points.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libopenblas0 tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ralm \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ralm \
 && install -d -o 0 -g 0 -m 0755 /var/lib/ralm \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ralm/state /var/lib/ralm/models /var/lib/ralm/training

COPY --from=build /out/app /app
WORKDIR /app

# TSX_DISABLE_CACHE: tsx otherwise writes transpiled files under $TMPDIR/tsx-<uid> (and
# crashes on the first file when it cannot create that directory); esbuild transpiles the
# sources at each start instead (measured: ~1 s more, 2.8 s instead of 1.8 s to "service
# started"; an emptyDir cache would be cold at every pod start anyway).
# TSX_TSCONFIG_PATH: the "@ralm/*" path aliases come from this tsconfig.json whatever the
# working directory.
ENV NODE_ENV=production \
    GRPC_HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    METRICS_PORT=9464 \
    STATE_DIR=/var/lib/ralm/state \
    MODEL_ROOT=/var/lib/ralm/models \
    TRAINING_WORK_DIR=/var/lib/ralm/training \
    TRAINING_DATA_ROOT=/var/lib/ralm/data \
    TMPDIR=/tmp \
    TSX_DISABLE_CACHE=1 \
    TSX_TSCONFIG_PATH=/app/tsconfig.json

# The addon loads against the runtime libopenblas0 (the build stage had libopenblas-dev).
RUN node -e "require('/app/packages/kernel/build/Release/ralm_kernel.node').config()"

# Everything above is shared by the five images; from here on it is per service.
ARG SERVICE
RUN if [ -z "${SERVICE}" ] || [ ! -f "services/${SERVICE}/src/main.ts" ]; then \
      echo "build with --build-arg SERVICE=<name>, one of: $(ls services | tr '\n' ' ')" >&2; exit 1; \
    fi
ENV RALM_SERVICE=${SERVICE}
EXPOSE 50051 9464
USER 10001:10001

# The service's module graph resolves and transpiles as this user: tsconfig paths, tsx,
# esbuild's binary, native addons (a build-time check; nothing is started).
RUN node --import tsx -e "require('@ralm/' + process.env.RALM_SERVICE)"

# Labels last: CREATED changes at every build and invalidates only what follows it.
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="ralm-${SERVICE}" \
      org.opencontainers.image.description="RALM ${SERVICE} gRPC service (real-time attention-based look-alike model)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="RALM" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}" \
      io.ralm.service="${SERVICE}"

ENTRYPOINT ["/usr/bin/tini", "--"]
# sh only expands the service name, then execs: node is tini's direct child.
CMD ["/bin/sh", "-c", "exec node --import tsx \"services/${RALM_SERVICE}/src/main.ts\""]
