#!/usr/bin/env bash
# Shim for the old Vocorize benchmarker: `./scripts/performance-measurement.sh [--quick] [--ci] [--report-only]
# [--memory-focus] [--update-baseline] [--help]` now runs `cache-manager bench` with the same flags.
# Suites come from benchmark.suites in cache-config.json (or --suite name="cmd"); reports, the baseline and
# history.jsonl go to ./performance-reports/ as before. Exit codes: 0 ok, 1 a suite failed to run or (with --ci)
# a regression/target check failed, 2 usage or config error.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli="$here/../dist/cli/main.js"
if [ ! -f "$cli" ]; then
  echo "performance-measurement.sh: $cli is missing; run 'npm ci' (it builds dist/) in $(cd "$here/.." && pwd)" >&2
  exit 2
fi
args=()
for a in "$@"; do
  case "$a" in
    -h|help) args+=("--help") ;;
    *) args+=("$a") ;;
  esac
done
exec node "$cli" bench ${args[@]+"${args[@]}"}
