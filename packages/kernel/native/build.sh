#!/usr/bin/env bash
# Builds build/Release/ralm_kernel.node against the headers of the node that runs it,
# offline: node-gyp would otherwise download a header tarball, which this network refuses.
set -euo pipefail
cd "$(dirname "$0")/.."
nodedir=$(node -p "require('path').resolve(process.execPath, '..', '..')")
if [ ! -f "$nodedir/include/node/node_api.h" ] || [ ! -f "$nodedir/include/node/common.gypi" ]; then
  echo "native/build.sh: no Node headers in $nodedir/include/node (the Debian/NodeSource nodejs package installs them)" >&2
  exit 1
fi
python=()
# The python3 on PATH may be a pyenv shim; gyp only needs the system one.
[ -x /usr/bin/python3 ] && python=(--python=/usr/bin/python3)
exec node "$(node -p "require.resolve('node-gyp/bin/node-gyp.js')")" rebuild --nodedir="$nodedir" "${python[@]}" --loglevel=warn
