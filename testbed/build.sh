#!/usr/bin/env bash
# Build (or reuse) the testbed's binaries from the Go module proxy and Debian packages.
# Versions are pinned by testbed/go/*/go.mod; outputs are cached in .cache/testbed/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.cache/testbed/bin"
mkdir -p "$BIN"
export GOFLAGS=-mod=mod

need_apt=()
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v openssl >/dev/null || need_apt+=(openssl)
if ((${#need_apt[@]})); then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

build() { # module-dir package output
  local dir=$1 pkg=$2 out=$3 stamp="$BIN/.$3.stamp" sum
  sum=$(cat "testbed/go/$dir/go.mod" "testbed/go/$dir/go.sum" 2>/dev/null | sha256sum | cut -c1-16)
  if [[ -x "$BIN/$out" && -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    echo "testbed: $out cached"
    return
  fi
  local start=$SECONDS
  echo "testbed: building $out ($pkg) ..."
  (cd "testbed/go/$dir" && go build -trimpath -ldflags=-s -o "$BIN/$out" "$pkg")
  echo "$sum" > "$stamp"
  echo "testbed: built $out in $((SECONDS - start))s"
}

targets=${*:-kube istiod}
for t in $targets; do
  case $t in
    kube)
      build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
      build kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager ;;
    istiod)
      build istiod istio.io/istio/pilot/cmd/pilot-discovery pilot-discovery ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
