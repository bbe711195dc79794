#!/usr/bin/env bash
# Makes Debian's chromium available at /usr/bin/chromium for the browser tests; idempotent.
# Prints the executable path as its last line. Exits non-zero when it cannot: the browser
# tests then fail (they never skip), like the PostgreSQL half of the suite.
set -euo pipefail
BIN=/usr/bin/chromium
if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "chromium is missing and this user cannot install packages (no root, no sudo)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh container has no package lists; a failed update is retried once with the lists as they are.
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends chromium >&2
"$BIN" --version >&2
echo "$BIN"
