#!/usr/bin/env bash
# Ensures a Docker Engine for development and tests (CLI tools run in its containers).
# Idempotent; safe as root with no TTY (CI on a fresh Debian machine):
#   1. a daemon already answering on the socket is reused as it is;
#   2. otherwise Debian's docker.io is installed with apt-get when dockerd is missing,
#      and dockerd is started in the background, logging to .cache/docker/dockerd.log;
#   3. waits until `docker info` answers.
# Diagnostics go to stderr; the last line on stdout is the socket path.
# SEAL_DOCKER_SOCKET overrides the socket (default /var/run/docker.sock).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCKET=${SEAL_DOCKER_SOCKET:-/var/run/docker.sock}
STATE="$ROOT/.cache/docker"
WAIT_SECONDS=60

log() { echo "docker.sh: $*" >&2; }
die() { log "$*"; exit 1; }

answers() {
  # `docker info` needs only the client; without it, ask the API's /_ping with curl.
  if command -v docker >/dev/null 2>&1; then
    timeout 10 docker -H "unix://$SOCKET" info >/dev/null 2>&1
  else
    [ "$(timeout 10 curl -fsS --unix-socket "$SOCKET" http://localhost/_ping 2>/dev/null)" = "OK" ]
  fi
}

if [ -S "$SOCKET" ] && answers; then
  echo "$SOCKET"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "no Docker Engine answers on $SOCKET; run this script as root to install and start one"

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "installing docker.io (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends docker.io iptables >&2
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"

mkdir -p "$STATE"
# A daemon of ours may be starting already (another test process): do not start a second.
exec 9>"$STATE/start.lock"
flock -w "$WAIT_SECONDS" 9 || die "timed out waiting for $STATE/start.lock"
if ! { [ -S "$SOCKET" ] && answers; }; then
  if [ -f "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
    log "dockerd (pid $(cat "$STATE/dockerd.pid")) is running but not answering yet"
  else
    # A stale socket from a dead daemon makes dockerd refuse to start.
    [ -S "$SOCKET" ] && rm -f "$SOCKET"
    log "starting dockerd (log: $STATE/dockerd.log)"
    nohup dockerd --host "unix://$SOCKET" >>"$STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE/dockerd.pid"
  fi
  for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
    [ -S "$SOCKET" ] && answers && break
    sleep 0.5
  done
fi
flock -u 9

if ! { [ -S "$SOCKET" ] && answers; }; then
  tail -n 20 "$STATE/dockerd.log" >&2 2>/dev/null || true
  die "dockerd did not answer on $SOCKET within ${WAIT_SECONDS}s"
fi
echo "$SOCKET"
