#!/usr/bin/env bash
# Build (or reuse) the testbed's binaries from the Go module proxy and Debian packages.
# Versions are pinned by testbed/go/*/go.mod; outputs are cached in .cache/testbed (or $TESTBED_CACHE),
# each keyed by the hash of its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=$(realpath -m "${TESTBED_CACHE:-$PWD/.cache/testbed}")
BIN="$CACHE/bin"
mkdir -p "$BIN"
export GOFLAGS=-mod=mod
# These module versions are served by the proxy but unknown to its checksum database; go.sum pins their hashes.
export GONOSUMDB=github.com/openshift/api,go.opentelemetry.io,github.com/open-telemetry

need_apt=()
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v openssl >/dev/null || need_apt+=(openssl)
if ((${#need_apt[@]})); then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Kubernetes binaries report the pinned release (istiod refuses unknown Kubernetes versions).
K8S_VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' testbed/go/kube-apiserver/go.mod)
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$K8S_MINOR -X k8s.io/component-base/version.gitTreeState=clean"

build() { # module-dir package output [ldflags]
  local dir=$1 pkg=$2 out=$3 ldflags="-s ${4:-}" stamp="$BIN/.$3.stamp" sum
  sum=$( (cat "testbed/go/$dir"/* 2>/dev/null; echo "$ldflags") | sha256sum | cut -c1-16)
  if [[ -x "$BIN/$out" && -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    echo "testbed: $out cached"
    return
  fi
  local start=$SECONDS
  echo "testbed: building $out ($pkg) ..."
  (cd "testbed/go/$dir" && go build -trimpath -ldflags="$ldflags" -o "$BIN/$out" "$pkg")
  echo "$sum" > "$stamp"
  echo "testbed: built $out in $((SECONDS - start))s"
}

# Elasticsearch 7.10.2 and OpenSearch 2.19.1 (the codelibs runners on Maven Central) and our launchers.
java_runner() { # source-dir cache-dir
  local src=$1 dir="$CACHE/$2" stamp sum
  sum=$(cat "$src/pom.xml" "$src"/src/main/java/meshhealth/*.java | sha256sum | cut -c1-16)
  stamp="$dir/.stamp"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
    echo "testbed: $2 runner cached"
    return
  fi
  local start=$SECONDS
  rm -rf "$dir" && mkdir -p "$dir/classes"
  (cd "$src" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$dir/lib")
  javac -d "$dir/classes" -cp "$dir/lib/*" "$src"/src/main/java/meshhealth/*.java
  echo "$sum" > "$stamp"
  echo "testbed: $2 runner ready in $((SECONDS - start))s"
}

targets=${*:-kube istiod}
for t in $targets; do
  case $t in
    kube)
      build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$K8S_LDFLAGS"
      build kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$K8S_LDFLAGS" ;;
    istiod)
      build istiod istio.io/istio/pilot/cmd/pilot-discovery pilot-discovery
      build istiod istio.io/istio/istioctl/cmd/istioctl istioctl
      build sidecars . sidecars ;;
    jaeger)
      build jaeger github.com/jaegertracing/jaeger/cmd/collector jaeger-collector
      build jaeger github.com/jaegertracing/jaeger/cmd/jaeger jaeger ;;
    elasticsearch)
      java_runner testbed/java es-7.10
      java_runner testbed/java-opensearch os-2.19 ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
done
