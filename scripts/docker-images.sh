#!/usr/bin/env bash
# Builds the local test images of the CLI engine without any registry (none is reachable from
# CI or this machine, so `docker pull` is not an option): each root filesystem is assembled
# from this Debian host's own binaries plus the shared libraries `ldd` names, then
# `docker import`ed from a tarball.
#   seal-test/git      entrypoint git   (+ /usr/lib/git-core)
#   seal-test/jq       entrypoint jq
#   seal-test/curl     entrypoint curl  (+ CA certificates)
#   seal-test/busybox  entrypoint busybox (static; applet links in /bin) for hostile tests
# Every image runs as uid/gid 65532 and carries the label seal-test.content-hash: an image
# is imported again only when its root filesystem (or this script) changed. Host packages
# are installed with apt-get when missing. Idempotent and safe to run concurrently (flock).
# Diagnostics go to stderr; stdout lists "name content-hash" per image.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.cache/docker"
SOCKET=${SEAL_DOCKER_SOCKET:-/var/run/docker.sock}
UID_GID=65532
LABEL=seal-test.content-hash

log() { echo "docker-images.sh: $*" >&2; }
die() { log "$*"; exit 1; }
docker() { command docker -H "unix://$SOCKET" "$@"; }

need_packages() {
  local missing=()
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || missing+=(busybox-static)
  [ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing host packages ${missing[*]}; run as root to install them"
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# Copies a file to the same path inside the root filesystem, following symlinks.
copy_file() {
  local rootfs=$1 file=$2
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
}

# Every shared library (and the loader) an ELF file needs, at the path ldd resolves.
copy_libraries() {
  local rootfs=$1 file=$2 lib
  for lib in $(ldd "$file" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [ -e "$rootfs$lib" ] || copy_file "$rootfs" "$lib"
  done
}

base_files() {
  local rootfs=$1
  mkdir -p "$rootfs"/{etc,tmp,bin,usr/bin}
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nseal:x:%s:%s:seal:/tmp:/sbin/nologin\n' \
    "$UID_GID" "$UID_GID" >"$rootfs/etc/passwd"
  printf 'root:x:0:\nseal:x:%s:\n' "$UID_GID" >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
}

rootfs_git() {
  local rootfs=$1 f
  copy_file "$rootfs" /usr/bin/git
  copy_libraries "$rootfs" /usr/bin/git
  mkdir -p "$rootfs/usr/lib"
  cp -a /usr/lib/git-core "$rootfs/usr/lib/"
  for f in "$rootfs"/usr/lib/git-core/*; do
    # ldd names nothing for scripts, so every regular file can be asked.
    [ -f "$f" ] && [ ! -L "$f" ] && copy_libraries "$rootfs" "${f#"$rootfs"}"
  done
  # Mounted repositories belong to another uid than the container user; the container is the
  # sandbox, so git's ownership check (safe.directory) has nothing to protect here.
  printf '[safe]\n\tdirectory = *\n' >"$rootfs/etc/gitconfig"
}

rootfs_jq() {
  copy_file "$1" /usr/bin/jq
  copy_libraries "$1" /usr/bin/jq
}

rootfs_curl() {
  copy_file "$1" /usr/bin/curl
  copy_libraries "$1" /usr/bin/curl
  copy_file "$1" /etc/ssl/certs/ca-certificates.crt
}

rootfs_busybox() {
  local rootfs=$1 busybox applet
  busybox=$(command -v busybox)
  cp -L "$busybox" "$rootfs/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
}

build() {
  local name=$1 entrypoint=$2 work rootfs hash current
  work=$(mktemp -d "$STATE/build.XXXXXX")
  rootfs="$work/rootfs"
  base_files "$rootfs"
  "rootfs_$name" "$rootfs"
  # Reproducible tar (sorted, fixed owners and times): its hash names the content.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
  hash=$({ sha256sum <"$work/rootfs.tar"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-32)
  current=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "seal-test/$name" 2>/dev/null || true)
  if [ "$current" != "$hash" ]; then
    log "importing seal-test/$name ($hash)"
    docker import \
      --change "ENTRYPOINT [\"$entrypoint\"]" \
      --change "USER $UID_GID:$UID_GID" \
      --change "ENV PATH=/usr/bin:/bin HOME=/tmp" \
      --change "WORKDIR /tmp" \
      --change "LABEL $LABEL=$hash" \
      "$work/rootfs.tar" "seal-test/$name:latest" >/dev/null
  fi
  rm -rf "$work"
  echo "seal-test/$name $hash"
}

IMAGES="git jq curl busybox"

# Fast path: nothing on the host changed since the last build (this script and every installed
# package version hash the same) and the images built then are still there, by id.
inputs_hash() { { sha256sum <"${BASH_SOURCE[0]}"; dpkg-query -W 2>/dev/null; } | sha256sum | cut -c1-32; }
image_ids() {
  local name
  for name in $IMAGES; do docker image inspect --format '{{.Id}}' "seal-test/$name" 2>/dev/null || echo missing; done
}
STAMP="$STATE/images.stamp"

need_packages
mkdir -p "$STATE"
exec 9>"$STATE/images.lock"
flock -w 300 9 || die "timed out waiting for $STATE/images.lock"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_hash) $(image_ids | tr '\n' ' ')" ]; then
  for name in $IMAGES; do
    echo "seal-test/$name $(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "seal-test/$name")"
  done
  exit 0
fi
build git /usr/bin/git
build jq /usr/bin/jq
build curl /usr/bin/curl
build busybox /bin/busybox
echo "$(inputs_hash) $(image_ids | tr '\n' ' ')" >"$STAMP"
