#!/usr/bin/env bash
# Fails unless the RALM contracts are lint-clean, buf-formatted, and the committed
# TypeScript in proto/gen/ts is exactly what the current protos and tools generate.
# Generates into a temporary folder; never touches the working tree.
# Usage (from anywhere): bash scripts/proto-check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
buf=node_modules/.bin/buf
committed=proto/gen/ts

if [[ ! -x "$buf" || ! -f node_modules/ts-proto/protoc-gen-ts_proto ]]; then
  echo "proto-check: buf or ts-proto missing from node_modules; run 'npm ci' first" >&2
  exit 1
fi

"$buf" lint proto || {
  echo "proto-check: FAILED: buf lint found problems in proto/ (see above)" >&2
  exit 1
}

"$buf" format --diff --exit-code proto || {
  echo "proto-check: FAILED: protos are not buf-formatted; run '$buf format -w proto'" >&2
  exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --output prefixes the template's `out`, so the fresh copy lands in $tmp/proto/gen/ts.
"$buf" generate --template proto/buf.gen.yaml --output "$tmp"
fresh="$tmp/$committed"
node scripts/proto-patch-longs.mjs "$fresh" >/dev/null

if [[ ! -d "$committed" ]]; then
  echo "proto-check: FAILED: $committed is missing; run 'bash scripts/proto-gen.sh'" >&2
  exit 1
fi

if ! diff -r "$fresh" "$committed"; then
  echo "proto-check: FAILED: $committed is out of date with proto/ (diff above:" \
    "'<' = freshly generated, '>' = committed); run 'bash scripts/proto-gen.sh'" \
    "and commit the result" >&2
  exit 1
fi

echo "proto-check: OK (lint clean, formatted, $committed up to date)"
