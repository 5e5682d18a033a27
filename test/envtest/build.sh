#!/usr/bin/env bash
# Builds the test API server (kube-apiserver, etcd, kubectl) from Go module source into a
# cache folder outside the repository, keyed by the Kubernetes version pinned in go.mod.
# Skips the build when all three binaries are already there.
#
#   bash test/envtest/build.sh            build if missing, print the bin dir last
#   bash test/envtest/build.sh --print    only print the bin dir (no build)
#
# Cache root: $CLUSTERLINK_ENVTEST_DIR (default ~/.cache/clusterlink/envtest).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

k8s_version="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' go.mod)"
if [ -z "$k8s_version" ] || [ -z "$etcd_version" ]; then
  echo "build.sh: cannot read the Kubernetes/etcd versions from $here/go.mod" >&2
  exit 1
fi
cache_root="${CLUSTERLINK_ENVTEST_DIR:-$HOME/.cache/clusterlink/envtest}"
bin_dir="$cache_root/$k8s_version/bin"
binaries=(kube-apiserver etcd kubectl)

if [ "${1:-}" = "--print" ]; then
  echo "$bin_dir"
  exit 0
fi

all_present() {
  local b
  for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || return 1; done
}

if all_present; then
  echo "envtest: $k8s_version binaries present in $bin_dir (skipping build)"
  echo "$bin_dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the Go toolchain is required (go not found in PATH)" >&2
  exit 1
fi

echo "envtest: building kube-apiserver, kubectl $k8s_version and etcd $etcd_version with $(go version | awk '{print $3}')"
echo "envtest: output $bin_dir (a cold build downloads ~1 GB of modules and compiles for 15-40 minutes on 2 cores)"
start=$(date +%s)
mkdir -p "$bin_dir"
# Build into a scratch folder and move into place at the end so an interrupted build never
# leaves a half-written binary that the "present" check would accept.
tmp_out="$(mktemp -d "$cache_root/$k8s_version/.build.XXXXXX")"
trap 'rm -rf "$tmp_out"' EXIT

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export CGO_ENABLED=0
# Version stamps make `kubectl version` and /version report the real release instead of v0.0.0.
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

log="$cache_root/$k8s_version/build.log"
echo "envtest: [1/2] downloading modules (full log: $log)"
t0=$(date +%s)
if ! go mod download >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "build.sh: go mod download failed" >&2
  exit 1
fi
echo "envtest:       done in $(($(date +%s) - t0)) s"

echo "envtest: [2/2] compiling"
# One `go build` for all three commands shares the compilation of common packages; -v names
# each package as it is compiled, summarised here as a running count.
set +e
nice -n 5 go build -v -trimpath -ldflags="$ldflags" -o "$tmp_out/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kubectl \
  ./cmd/etcd 2>&1 |
  tee -a "$log" |
  awk '{ n++; if (n % 250 == 0) { printf "envtest:       %d packages compiled (%ds)\n", n, systime() - t0; fflush() } }' t0="$t0"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  tail -n 40 "$log" >&2
  echo "build.sh: go build failed (exit $status); full log: $log" >&2
  exit "$status"
fi
for b in "${binaries[@]}"; do
  mv -f "$tmp_out/$b" "$bin_dir/$b"
done
end=$(date +%s)
echo "envtest: built in $((end - start)) s; binaries: $(du -sh "$bin_dir" | cut -f1)"
"$bin_dir/kubectl" version --client 2>/dev/null | head -1 | sed 's/^/envtest: /' || true
echo "$bin_dir"
