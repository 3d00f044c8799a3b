#!/usr/bin/env bash
# start-swift-s3.sh BASE_DIR
#
# A single-node OpenStack Swift cluster on 127.0.0.1 speaking the S3 API (s3api + tempauth), for the
# fleet-tier tests. Needs Debian's packages: swift swift-proxy swift-object swift-container
# swift-account python3-swift (memcached optional but recommended).
#
# Contract:
#  - everything (configs, rings, data, logs, pids) lives under BASE_DIR; nothing under /etc is read
#    or written: a small launcher points Swift's swift.conf lookup at BASE_DIR/etc/swift.conf;
#  - one replica, one device; only proxy, account, container and object servers run (one process
#    each), plus a private memcached on a free port when /usr/bin/memcached exists;
#  - ports are free ones picked at start;
#  - on success prints shell-sourceable lines (also written to BASE_DIR/s3.env):
#      S3_ENDPOINT=http://127.0.0.1:PORT S3_ACCESS_KEY=test:tester S3_SECRET_KEY=testing S3_REGION=us-east-1
#  - on failure stops what it started and exits non-zero; stop with stop-swift-s3.sh BASE_DIR, which
#    signals only the pids recorded in BASE_DIR/run/pids.
# Env: SWIFT_START_TIMEOUT (seconds, default 90), SWIFT_MEMCACHED=auto|1|0, SWIFT_LOG_LEVEL (INFO).
set -euo pipefail

BASE=${1:?usage: start-swift-s3.sh BASE_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
# Debian's interpreter: python3-swift is installed for it, not for a pyenv/venv python3 on PATH.
PY=/usr/bin/python3
TIMEOUT=${SWIFT_START_TIMEOUT:-90}
LOG_LEVEL=${SWIFT_LOG_LEVEL:-INFO}
ACCOUNT=test
USER_NAME=tester
SECRET=testing
RUN_USER=$(id -un)

[ -x "$PY" ] && "$PY" -c 'import swift, xattr' 2>/dev/null || {
  echo "start-swift-s3: $PY cannot import swift; install: apt-get install --no-install-recommends swift swift-proxy swift-object swift-container swift-account python3-swift memcached" >&2
  exit 2
}
if [ -s "$BASE/run/pids" ]; then
  echo "start-swift-s3: $BASE/run/pids exists (already running?); run scripts/s3/stop-swift-s3.sh $BASE first" >&2
  exit 2
fi

ETC=$BASE/etc; DEV=$BASE/node; RUN=$BASE/run; LOG=$BASE/log
mkdir -p "$ETC" "$DEV/d1" "$RUN" "$LOG"

# Swift keeps object metadata in user.* xattrs: check the data directory's filesystem has them.
"$PY" - "$DEV/d1" <<'EOF' || { echo "start-swift-s3: the filesystem of $DEV has no user xattrs (tmpfs before Linux 6.6?)" >&2; exit 2; }
import os, sys, tempfile, xattr
fd, p = tempfile.mkstemp(dir=sys.argv[1])
try:
    xattr.setxattr(p, 'user.swift.probe', b'x' * 254)
finally:
    os.close(fd); os.unlink(p)
EOF

read -r PROXY_PORT ACCOUNT_PORT CONTAINER_PORT OBJECT_PORT MEMCACHE_PORT < <("$PY" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
EOF
)

HASH=$("$PY" -c 'import secrets; print(secrets.token_hex(8))')
cat > "$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = p$HASH
swift_hash_path_suffix = s$HASH

[storage-policy:0]
name = Policy-0
default = yes
EOF

# Rings through Swift's RingBuilder API in one process (the CLI takes nine slow invocations).
"$PY" - "$ETC" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" <<'EOF'
import os, sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for kind, port in zip(('account', 'container', 'object'), sys.argv[2:5]):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port), 'device': 'd1', 'weight': 100, 'meta': ''})
    b.rebalance()
    b.save(os.path.join(etc, kind + '.builder'))
    b.get_ring().save(os.path.join(etc, kind + '.ring.gz'))
EOF

server_conf() {  # name port
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
user = $RUN_USER
swift_dir = $ETC
devices = $DEV
mount_check = false
disable_fallocate = true
log_level = $LOG_LEVEL

[pipeline:main]
pipeline = $1-server

[app:$1-server]
use = egg:swift#$1
EOF
}
server_conf account "$ACCOUNT_PORT" > "$ETC/account-server.conf"
server_conf container "$CONTAINER_PORT" > "$ETC/container-server.conf"
server_conf object "$OBJECT_PORT" > "$ETC/object-server.conf"

# s3api before tempauth; slo after s3api (multipart); versioned_writes needs symlink; tempauth needs cache.
cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
workers = 0
user = $RUN_USER
swift_dir = $ETC
log_level = $LOG_LEVEL

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
min_segment_size = 5242880

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_${ACCOUNT}_${USER_NAME} = $SECRET .admin .reseller_admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHE_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true
[filter:symlink]
use = egg:swift#symlink
EOF

# The servers' entry point, reading swift.conf from next to their config instead of /etc/swift.
cat > "$ETC/run-server.py" <<'EOF'
import os, sys
import swift.common.utils as utils
utils.SWIFT_CONF_FILE = os.path.join(os.path.dirname(os.path.abspath(sys.argv[2])), 'swift.conf')
from swift.common import constraints, storage_policy
storage_policy.reload_storage_policies()
constraints.reload_constraints()
from swift.common.wsgi import run_wsgi
sys.exit(run_wsgi(sys.argv[2], sys.argv[1], verbose=True))
EOF

: > "$RUN/pids"
spawn() {  # name cmd...
  local name=$1; shift
  "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo "$! $name" >> "$RUN/pids"
}
abort() {
  echo "start-swift-s3: $1; logs in $LOG" >&2
  "$HERE/stop-swift-s3.sh" "$BASE" >/dev/null 2>&1 || true
  exit 1
}

MEMCACHED=${SWIFT_MEMCACHED:-auto}
if [ "$MEMCACHED" = auto ]; then if [ -x /usr/bin/memcached ]; then MEMCACHED=1; else MEMCACHED=0; fi; fi
[ "$MEMCACHED" = 1 ] && spawn memcached /usr/bin/memcached -l 127.0.0.1 -p "$MEMCACHE_PORT" -U 0 -m 64 -u "$RUN_USER"
for s in account container object proxy; do
  spawn "$s-server" "$PY" "$ETC/run-server.py" "$s-server" "$ETC/$s-server.conf"
done

# Ready when an S3-signed (V2) ListBuckets succeeds: that goes through s3api, tempauth and the account server.
deadline=$(( $(date +%s) + TIMEOUT ))
until "$PY" - "$PROXY_PORT" "$ACCOUNT:$USER_NAME" "$SECRET" <<'EOF' 2>/dev/null
import base64, email.utils, hashlib, hmac, http.client, sys
port, user, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
c.request('GET', '/healthcheck'); r = c.getresponse(); r.read()
if r.status != 200: sys.exit(1)
date = email.utils.formatdate(usegmt=True)
sig = base64.b64encode(hmac.new(key.encode(), ('GET\n\n\n%s\n/' % date).encode(), hashlib.sha1).digest()).decode()
c.request('GET', '/', headers={'Date': date, 'Authorization': 'AWS %s:%s' % (user, sig)})
r = c.getresponse(); r.read()
sys.exit(0 if r.status == 200 else 1)
EOF
do
  while read -r pid name; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$LOG/$name.log" >&2; abort "$name (pid $pid) exited"; }
  done < "$RUN/pids"
  [ "$(date +%s)" -lt "$deadline" ] || abort "the proxy did not answer S3 within ${TIMEOUT}s"
  sleep 0.2
done

cat > "$BASE/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT
S3_ACCESS_KEY=$ACCOUNT:$USER_NAME
S3_SECRET_KEY=$SECRET
S3_REGION=us-east-1
EOF
cat "$BASE/s3.env"
