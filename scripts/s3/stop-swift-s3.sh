#!/usr/bin/env bash
# stop-swift-s3.sh BASE_DIR [--purge]
# Stops what start-swift-s3.sh (or start-moto.sh) recorded in BASE_DIR/run/pids, and nothing else: a pid
# is signalled only while its command line is still one of ours. TERM, then KILL after 5 s.
# --purge also deletes BASE_DIR. Always exits 0 (safe in a trap).
set -uo pipefail
BASE=${1:?usage: stop-swift-s3.sh BASE_DIR [--purge]}
PIDS=$BASE/run/pids
ours() { kill -0 "$1" 2>/dev/null && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qE 'run-server\.py|memcached|moto\.server'; }
if [ -f "$PIDS" ]; then
  while read -r pid name; do
    [ -n "${pid:-}" ] && ours "$pid" && kill -TERM "$pid" 2>/dev/null && echo "stopped $name ($pid)"
  done < "$PIDS"
  for _ in $(seq 50); do
    alive=0
    while read -r pid name; do [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null && alive=1; done < "$PIDS"
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  while read -r pid name; do
    [ -n "${pid:-}" ] && ours "$pid" && kill -KILL "$pid" 2>/dev/null && echo "killed $name ($pid)"
  done < "$PIDS"
  rm -f "$PIDS"
fi
[ "${2:-}" = --purge ] && rm -rf "$BASE"
exit 0
