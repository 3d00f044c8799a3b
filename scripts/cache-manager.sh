#!/usr/bin/env bash
# Drop-in for Vocorize's old scripts/cache-manager.sh: `cache-manager.sh status|verify|clean|optimize|warm|help`
# and the old flag form `cache-manager.sh --clean`. Copy or symlink it into any repository's scripts/.
#
# The old contract of `clean` (and `--clean`): leave a cold cache. It runs `cache-manager clean --all --partial`:
# every model that is not in use or pinned (those are named), and partial downloads. Everything else is
# forwarded to the cache-manager CLI unchanged.
#
# The CLI is found, in order: $VOCORIZE_CACHE_MANAGER (the cache-manager command or its dist/cli/main.js),
# dist/cli/main.js next to this script's real path (a checkout), `cache-manager` on PATH (npm install -g).
set -euo pipefail

find_cli() {
  if [ -n "${VOCORIZE_CACHE_MANAGER:-}" ]; then
    [ -e "$VOCORIZE_CACHE_MANAGER" ] && { echo "$VOCORIZE_CACHE_MANAGER"; return; }
    echo "cache-manager.sh: VOCORIZE_CACHE_MANAGER=$VOCORIZE_CACHE_MANAGER does not exist" >&2
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
cache-manager.sh: the cache-manager CLI is not installed. Install it once, from a checkout of the cache
manager or a packed tarball of it:
  npm install -g /path/to/vocorize-cache-manager            (or: npm install -g vocorize-cache-manager-<version>.tgz)
  (cd /path/to/vocorize-cache-manager && npm ci && npm link)
or point this script at it: export VOCORIZE_CACHE_MANAGER=/path/to/vocorize-cache-manager/dist/cli/main.js
MSG
  return 1
}

cli="$(find_cli)" || exit 127
run() { case "$cli" in *.js) exec node "$cli" "$@" ;; *) exec "$cli" "$@" ;; esac; }

case "${1:-}" in
  --clean|clean)
    shift
    run clean --all --partial "$@"
    ;;
  --help|-h) shift; run help "$@" ;;
  *) run "$@" ;;
esac
