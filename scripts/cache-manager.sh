#!/usr/bin/env bash
# Thin shim so existing Vocorize callers keep working: `./scripts/cache-manager.sh status|verify|clean|optimize|warm|help`
# and the old flag form `./scripts/cache-manager.sh --clean`. Everything is forwarded to the cache-manager CLI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli="$here/../dist/cli/main.js"
if [ ! -f "$cli" ]; then
  echo "cache-manager.sh: $cli is missing; run 'npm ci' (it builds dist/) in $(cd "$here/.." && pwd)" >&2
  exit 2
fi
exec node "$cli" "$@"
