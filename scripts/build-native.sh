#!/bin/sh
# Builds native/ (the raw VRRP socket addon) with node-gyp against the Node headers on this
# machine; never downloads them (only the npm registry and Debian's packages are allowed).
set -eu
cd "$(dirname "$0")/../native"
nodedir=${npm_config_nodedir:-}
if [ -z "$nodedir" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  for d in "$prefix" /usr /usr/local; do
    if [ -f "$d/include/node/node_api.h" ]; then nodedir=$d; break; fi
  done
fi
[ -n "$nodedir" ] || { echo "build-native: no Node headers found (install Debian's nodejs headers or set npm_config_nodedir)" >&2; exit 1; }
exec node-gyp rebuild --nodedir="$nodedir" --loglevel=warn
