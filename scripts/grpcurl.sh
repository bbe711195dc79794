#!/usr/bin/env bash
# Builds `grpcurl` (an independent gRPC client; it reads the gateway's services by reflection)
# from the Go module proxy into .cache/bin. Idempotent: a present binary is kept. Needs the
# `go` toolchain; the module cache stays under .cache/go so nothing leaves the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v1.9.3
BIN="$PWD/.cache/bin"
[ -x "$BIN/grpcurl" ] && exit 0
command -v go >/dev/null 2>&1 || { echo "grpcurl.sh: the go toolchain is missing" >&2; exit 1; }
mkdir -p "$BIN" .cache/go
GOPATH="$PWD/.cache/go" GOMODCACHE="$PWD/.cache/go/mod" GOBIN="$BIN" GOFLAGS=-mod=mod \
  go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${VERSION}" >&2
"$BIN/grpcurl" -version >&2
