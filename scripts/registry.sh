#!/usr/bin/env bash
# A private image registry on loopback for the private-image tests: Debian's docker-registry
# with htpasswd authentication at 127.0.0.1:5050 (dockerd treats 127.0.0.0/8 registries as
# insecure-allowed, so no TLS), holding one image pushed from the local test images.
# Idempotent; needs scripts/docker.sh and scripts/docker-images.sh first. As root it installs
# docker-registry and apache2-utils (htpasswd) with apt-get when missing.
#   state: .cache/registry/ (config, htpasswd, data, the credentials file, the push's docker config)
# Diagnostics go to stderr; the last line on stdout is the pushed image pinned by digest
# (127.0.0.1:5050/seal-test/private-jq@sha256:…). The credentials are in
# .cache/registry/credentials as `user:password` (mode 0600).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCKET=${SEAL_DOCKER_SOCKET:-/var/run/docker.sock}
STATE="$ROOT/.cache/registry"
ADDR=127.0.0.1:5050
REPO="$ADDR/seal-test/private-jq"
USER_NAME=seal
WAIT_SECONDS=30

log() { echo "registry.sh: $*" >&2; }
die() { log "$*"; exit 1; }
docker_() { docker -H "unix://$SOCKET" "$@"; }

if ! command -v docker-registry >/dev/null 2>&1 || ! command -v htpasswd >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "docker-registry or htpasswd missing; run as root to install them"
  log "installing docker-registry apache2-utils (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends docker-registry apache2-utils >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends docker-registry apache2-utils >&2; }
fi

mkdir -p "$STATE/data"
chmod 700 "$STATE"
exec 9>"$STATE/start.lock"
flock -w 120 9 || die "timed out waiting for $STATE/start.lock"

if [ ! -s "$STATE/credentials" ]; then
  umask 077
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
  printf '%s:%s' "$USER_NAME" "$password" >"$STATE/credentials"
  htpasswd -Bbc "$STATE/htpasswd" "$USER_NAME" "$password" 2>/dev/null
fi
password=$(cut -d: -f2- "$STATE/credentials")

cat >"$STATE/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/data
  delete:
    enabled: true
http:
  addr: $ADDR
auth:
  htpasswd:
    realm: seal-test
    path: $STATE/htpasswd
YAML

answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/" 2>/dev/null)" = "401" ]; }

if ! answers; then
  if [ -f "$STATE/registry.pid" ] && kill -0 "$(cat "$STATE/registry.pid")" 2>/dev/null; then
    log "docker-registry (pid $(cat "$STATE/registry.pid")) is running but not answering yet"
  else
    log "starting docker-registry on $ADDR (log: $STATE/registry.log)"
    nohup docker-registry serve "$STATE/config.yml" >>"$STATE/registry.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/registry.pid"
  fi
  for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
    answers && break
    sleep 0.5
  done
  answers || die "docker-registry did not answer on $ADDR within ${WAIT_SECONDS}s (see $STATE/registry.log)"
fi

# The push uses its own client config, so the credentials never land in ~/.docker.
export DOCKER_CONFIG="$STATE/docker-config"
mkdir -p "$DOCKER_CONFIG"
login() { printf '%s' "$password" | docker_ login --username "$USER_NAME" --password-stdin "$ADDR" >/dev/null 2>&1; }
if ! login; then
  # A registry started from another checkout already holds $ADDR (as one dockerd serves every
  # checkout): reuse it with the credentials kept beside its config, as docker.sh reuses dockerd.
  other=""
  for pid in $(pgrep -x docker-registry || true); do
    config=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | awk '{print $NF}')
    [ -n "$config" ] && [ "$(dirname "$config")" != "$STATE" ] && [ -s "$(dirname "$config")/credentials" ] &&
      other=$(dirname "$config")
  done
  [ -n "$other" ] || die "docker login to $ADDR failed"
  log "reusing the docker-registry started from $other"
  (umask 077 && cp "$other/credentials" "$STATE/credentials" && cp "$other/htpasswd" "$STATE/htpasswd")
  password=$(cut -d: -f2- "$STATE/credentials")
  login || die "docker login to $ADDR failed (with the credentials of $other too)"
fi
docker_ image inspect seal-test/jq >/dev/null 2>&1 || die "seal-test/jq is missing: run scripts/docker-images.sh"
docker_ tag seal-test/jq "$REPO:latest"
docker_ push "$REPO:latest" >/dev/null || die "docker push $REPO failed"
digest=$(docker_ image inspect "$REPO:latest" --format '{{range .RepoDigests}}{{println .}}{{end}}' | grep "^$REPO@" | head -n 1)
[ -n "$digest" ] || die "no digest for $REPO after the push"
# Only the registry holds it under this name: the tests pull it through the gateway.
docker_ rmi "$REPO:latest" >/dev/null 2>&1 || true
docker_ rmi "$digest" >/dev/null 2>&1 || true
docker_ logout "$ADDR" >/dev/null 2>&1 || true
echo "$digest"
