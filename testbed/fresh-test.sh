#!/usr/bin/env bash
# Fresh-machine rehearsal: clone HEAD into a new directory and run the README's test command, then the
# demo, with the Go module and build caches, the Maven repository and the testbed cache all empty.
# Debian packages already installed stay. Usage: testbed/fresh-test.sh [DIR]  (DIR must not exist).
# The directory is kept for inspection (its caches let `TESTBED_CACHE=DIR/testbed-cache make e2e` reuse
# the binaries); remove it with `chmod -R u+w DIR && rm -rf DIR`.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d /tmp/meshhealth-fresh.XXXXXX)}
[[ -e "$dir" && -n "$(ls -A "$dir")" ]] && { echo "fresh-test: $dir is not empty" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rev=$(git -C "$src" rev-parse HEAD)
git clone -q --no-local "$src" "$dir/src"
git -C "$dir/src" checkout -q "$rev"
export GOMODCACHE="$dir/gomodcache" GOCACHE="$dir/gocache" TESTBED_CACHE="$dir/testbed-cache"
export MAVEN_OPTS="-Dmaven.repo.local=$dir/m2 ${MAVEN_OPTS:-}" PIP_NO_CACHE_DIR=1
cd "$dir/src"
test_cmd=$(awk '/^## Test it/{f=1} f && /^```sh/{getline; print; exit}' README.md)
[[ -n "$test_cmd" ]] || { echo "fresh-test: no test command under '## Test it' in README.md" >&2; exit 2; }
echo "fresh-test: $rev in $dir/src; README test command: $test_cmd"
start=$SECONDS
status=0
bash -c "$test_cmd" 2>&1 | tee "$dir/test.log" || status=$?
echo "fresh-test: '$test_cmd' exited $status after $((SECONDS - start))s"
[[ $status == 0 ]] || exit "$status"
demo_start=$SECONDS
demo_status=0
{ make demo && .venv/bin/python -m testbed verify-demo; } 2>&1 | tee "$dir/demo.log" || demo_status=$?
make demo-down >/dev/null 2>&1 || true
echo "fresh-test: make demo + verify-demo exited $demo_status after $((SECONDS - demo_start))s"
echo "fresh-test: total wall time $((SECONDS - start))s (logs: $dir/test.log, $dir/demo.log)"
exit "$demo_status"
