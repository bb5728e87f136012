#!/usr/bin/env bash
# Lints the RALM contracts (proto/ralm/v1) and regenerates the committed TypeScript in
# proto/gen/ts with ts-proto. Deterministic and offline: buf and ts-proto come from
# node_modules (pinned by package-lock.json), no remote plugins, no BSR dependencies.
# Usage (from anywhere): bash scripts/proto-gen.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
buf=node_modules/.bin/buf
out=proto/gen/ts

if [[ ! -x "$buf" || ! -f node_modules/ts-proto/protoc-gen-ts_proto ]]; then
  echo "proto-gen: buf or ts-proto missing from node_modules; run 'npm ci' first" >&2
  exit 1
fi

"$buf" lint proto

# Start from an empty folder so files of removed protos do not linger.
rm -rf "$out"
mkdir -p "$out"
"$buf" generate --template proto/buf.gen.yaml
node scripts/proto-patch-longs.mjs "$out"

echo "proto-gen: generated $(find "$out" -type f -name '*.ts' | wc -l | tr -d ' ') files in $out"
