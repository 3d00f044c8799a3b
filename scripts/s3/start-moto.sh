#!/usr/bin/env bash
# start-moto.sh BASE_DIR
# moto's S3 server on a free loopback port (the store the tests use for features Swift 2.30 lacks, such
# as conditional PUT). Prints S3_ENDPOINT_MOTO=http://127.0.0.1:PORT (also in BASE_DIR/s3.env) once it
# answers; records its pid in BASE_DIR/run/pids for stop-swift-s3.sh BASE_DIR. Env: MOTO_PYTHON (python3).
set -euo pipefail
BASE=${1:?usage: start-moto.sh BASE_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BASE/run" "$BASE/log"
BASE=$(cd "$BASE" && pwd)
PY=${MOTO_PYTHON:-python3}
"$PY" -c 'import moto.server' 2>/dev/null || { echo "start-moto: $PY cannot import moto.server (pip install 'moto[server]')" >&2; exit 2; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$PY" -m moto.server -H 127.0.0.1 -p "$PORT" >>"$BASE/log/moto.log" 2>&1 </dev/null &
echo "$! moto" >> "$BASE/run/pids"
for _ in $(seq 300); do
  if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/', timeout=2)" 2>/dev/null; then
    echo "S3_ENDPOINT_MOTO=http://127.0.0.1:$PORT" | tee "$BASE/s3.env"
    exit 0
  fi
  kill -0 "$(tail -1 "$BASE/run/pids" | cut -d' ' -f1)" 2>/dev/null || break
  sleep 0.2
done
echo "start-moto: moto did not answer on port $PORT; log: $BASE/log/moto.log" >&2
"$HERE/stop-swift-s3.sh" "$BASE" >/dev/null 2>&1 || true
exit 1
