#!/usr/bin/env bash
# Shim for the old Vocorize benchmarker: `./scripts/performance-measurement.sh [--quick] [--ci] [--report-only]
# [--memory-focus] [--update-baseline] [--compare-baseline] [--baseline-check] [--status] [--help]` runs
# `cache-manager bench` with the same flags; every argument is passed through unchanged (`-h`/`help` become --help).
# Suites come from benchmark.suites in cache-config.json, else from the checkout's test-unit.sh,
# test-integration.sh and test.sh (or scripts/...), or from --suite name="cmd"; reports (plus latest.md and
# latest.json), the baseline and history.jsonl go to ./performance-reports/ as before. Exit codes: 0 ok, 1 a suite
# failed to run, (with --ci) a regression/target check failed, or (--baseline-check) the baseline is not usable;
# 2 usage or config error.
set -euo pipefail

# The CLI is found as scripts/cache-manager.sh finds it: $VOCORIZE_CACHE_MANAGER, a checkout next to this
# script's real path, or `cache-manager` on PATH.
find_cli() {
  if [ -n "${VOCORIZE_CACHE_MANAGER:-}" ]; then
    [ -e "$VOCORIZE_CACHE_MANAGER" ] && { echo "$VOCORIZE_CACHE_MANAGER"; return; }
    echo "performance-measurement.sh: VOCORIZE_CACHE_MANAGER=$VOCORIZE_CACHE_MANAGER does not exist" >&2
    return 1
  fi
  local src="${BASH_SOURCE[0]}" dir
  while [ -L "$src" ]; do
    dir="$(cd -P "$(dirname "$src")" && pwd)"
    src="$(readlink "$src")"
    case "$src" in /*) ;; *) src="$dir/$src" ;; esac
  done
  dir="$(cd -P "$(dirname "$src")" && pwd)"
  [ -f "$dir/../dist/cli/main.js" ] && { echo "$dir/../dist/cli/main.js"; return; }
  command -v cache-manager 2>/dev/null && return
  cat >&2 <<'MSG'
performance-measurement.sh: the cache-manager CLI is not installed. Install it once, from a checkout of the cache
manager or a packed tarball of it:
  npm install -g /path/to/vocorize-cache-manager            (or: npm install -g vocorize-cache-manager-<version>.tgz)
  (cd /path/to/vocorize-cache-manager && npm ci && npm link)
or point this script at it: export VOCORIZE_CACHE_MANAGER=/path/to/vocorize-cache-manager/dist/cli/main.js
MSG
  return 1
}

cli="$(find_cli)" || exit 127
args=()
for a in "$@"; do
  case "$a" in
    -h|help) args+=("--help") ;;
    *) args+=("$a") ;;
  esac
done
case "$cli" in
  *.js) exec node "$cli" bench ${args[@]+"${args[@]}"} ;;
  *) exec "$cli" bench ${args[@]+"${args[@]}"} ;;
esac
