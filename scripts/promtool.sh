#!/usr/bin/env bash
# Builds `promtool` (the Prometheus project's own tool; `promtool check metrics` lints an
# exposition) from the Go module proxy into .cache/bin. Idempotent: a present binary is kept.
# Needs the `go` toolchain; the module cache stays under .cache/go so nothing leaves the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v0.316.0 # Prometheus 3.x tags its Go module as v0.3xx.y
BIN="$PWD/.cache/bin"
[ -x "$BIN/promtool" ] && exit 0
command -v go >/dev/null 2>&1 || { echo "promtool.sh: the go toolchain is missing" >&2; exit 1; }
mkdir -p "$BIN" .cache/go
GOPATH="$PWD/.cache/go" GOMODCACHE="$PWD/.cache/go/mod" GOBIN="$BIN" GOFLAGS=-mod=mod \
  go install "github.com/prometheus/prometheus/cmd/promtool@${VERSION}" >&2
"$BIN/promtool" --version >&2
