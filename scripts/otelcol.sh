#!/usr/bin/env bash
# Builds `seal-otelcol`, a minimal OpenTelemetry Collector (OTLP receiver, OTLP/HTTP exporter;
# scripts/otelcol/main.go, modules pinned by its go.mod/go.sum) from the Go module proxy into
# .cache/bin, for the tracing test (test/ops/tracing.test.ts). Idempotent: a present binary is
# kept. Needs the `go` toolchain; the module cache stays under .cache/go so nothing leaves the
# checkout. About two minutes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.cache/bin"
[ -x "$BIN/seal-otelcol" ] && exit 0
command -v go >/dev/null 2>&1 || { echo "otelcol.sh: the go toolchain is missing" >&2; exit 1; }
mkdir -p "$BIN" .cache/go
cd scripts/otelcol
GOPATH="$OLDPWD/.cache/go" GOMODCACHE="$OLDPWD/.cache/go/mod" GOFLAGS=-mod=readonly \
  go build -trimpath -o "$BIN/seal-otelcol" . >&2
"$BIN/seal-otelcol" --version >&2
