#!/usr/bin/env bash
# Build the Containerfile's image without a Docker engine or a registry: a Debian bookworm base made with
# debootstrap (cached, keyed by this script), Debian's buildah with the vfs driver and chroot isolation.
# Then run `--version` and `check --help` inside the image. Usage: testbed/image.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=$(realpath -m "${TESTBED_CACHE:-$PWD/.cache/testbed}")/image
mkdir -p "$CACHE"
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
need=()
command -v buildah >/dev/null || need+=(buildah)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
B=(buildah --storage-driver vfs --root "$CACHE/storage" --runroot "$CACHE/run")
BASE=localhost/meshhealth-base:bookworm
key=$(sha256sum "$0" | cut -c1-16)
start=$SECONDS
if [[ "$(cat "$CACHE/base.key" 2>/dev/null)" != "$key" ]] || ! $SUDO "${B[@]}" inspect "$BASE" >/dev/null 2>&1; then
  rm -rf "$CACHE/rootfs"
  $SUDO debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$CACHE/rootfs" \
    http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  $SUDO rm -rf "$CACHE/rootfs/var/cache/apt/archives"/*.deb "$CACHE/rootfs/var/lib/apt/lists"/*
  ctr=$($SUDO "${B[@]}" from scratch)
  $SUDO "${B[@]}" copy "$ctr" "$CACHE/rootfs" / >/dev/null
  $SUDO "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  $SUDO "${B[@]}" commit --rm -q "$ctr" "$BASE" >/dev/null
  $SUDO rm -rf "$CACHE/rootfs"
  echo "$key" >"$CACHE/base.key"
  echo "image: base $BASE made with debootstrap in $((SECONDS - start))s"
else
  echo "image: base $BASE cached"
fi
start=$SECONDS
secret=()  # networks that intercept TLS: the host's CA bundle, as a build secret (not in the image)
ca=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[[ -s "$ca" ]] && secret=(--secret "id=pip-ca,src=$ca")
$SUDO "${B[@]}" build -q --isolation chroot --pull=false "${secret[@]}" --build-arg "BASE=$BASE" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" -t localhost/mesh-health-exporter:test -f Containerfile . >"$CACHE/build.log" 2>&1 || { tail -30 "$CACHE/build.log"; exit 1; }
echo "image: built localhost/mesh-health-exporter:test in $((SECONDS - start))s"
ctr=$($SUDO "${B[@]}" from -q localhost/mesh-health-exporter:test)
trap '$SUDO "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
$SUDO "${B[@]}" run --isolation chroot "$ctr" -- mesh-health-exporter --version
$SUDO "${B[@]}" run --isolation chroot "$ctr" -- mesh-health-exporter check --help | head -3
$SUDO "${B[@]}" run --isolation chroot "$ctr" -- id -u
$SUDO "${B[@]}" run --isolation chroot "$ctr" -- sh -c \
  'for t in pip pip3 gcc cc make; do command -v $t >/dev/null && { echo "build tool in the image: $t"; exit 1; }; done; echo "no pip, no compiler"'
