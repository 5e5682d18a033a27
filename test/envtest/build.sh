#!/usr/bin/env bash
# Builds the test Kubernetes from Go module source into a cache folder outside the repository,
# keyed by the Kubernetes version pinned in go.mod:
#   - the test API server: kube-apiserver, etcd, kubectl (integration and e2e suites);
#   - the rest of a node: kube-controller-manager, kube-scheduler, kubelet, kube-proxy, and
#     CoreDNS from its own module in coredns/ (the real-Pod suite, npm run test:cluster).
# Skips the build when all binaries are already there.
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
binaries=(kube-apiserver etcd kubectl kube-controller-manager kube-scheduler kubelet kube-proxy coredns)
coredns_version="$(awk '$1 == "require" && $2 == "github.com/coredns/coredns" { print $3; exit }' coredns/go.mod)"

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

# Go 1.25 or newer (Kubernetes 1.34 needs 1.24, CoreDNS 1.14 needs 1.25). A machine without it
# (Debian 12 ships 1.19) gets the official toolchain from the Go module proxy, where it is
# published as the module golang.org/toolchain (the same download `GOTOOLCHAIN=go1.25.8` would make).
fallback_go=go1.25.8
go_usable() {
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1
  v="${v#go}"
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%.*}"
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "${minor%%[!0-9]*}" -ge 25 ]; }
}
go_bin=""
for candidate in "$(command -v go || true)" /usr/local/go/bin/go "$cache_root/toolchain/$fallback_go/bin/go"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && go_usable "$candidate"; then
    go_bin="$candidate"
    break
  fi
done
if [ -z "$go_bin" ]; then
  arch="$(uname -m)"
  case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  proxy="${GOPROXY:-https://proxy.golang.org}"
  proxy="${proxy%%,*}"
  zip_url="$proxy/golang.org/toolchain/@v/v0.0.1-$fallback_go.linux-$arch.zip"
  echo "envtest: no Go >= 1.25 found; fetching $fallback_go from $zip_url"
  mkdir -p "$cache_root/toolchain"
  tmp_zip="$(mktemp "$cache_root/toolchain/.go.XXXXXX.zip")"
  curl -fsSL -o "$tmp_zip" "$zip_url"
  rm -rf "$cache_root/toolchain/.unpack"
  unzip -q "$tmp_zip" -d "$cache_root/toolchain/.unpack"
  rm -f "$tmp_zip"
  rm -rf "${cache_root:?}/toolchain/$fallback_go"
  mv "$cache_root/toolchain/.unpack/golang.org/toolchain@v0.0.1-$fallback_go.linux-$arch" "$cache_root/toolchain/$fallback_go"
  rm -rf "$cache_root/toolchain/.unpack"
  # Module zips carry no file modes.
  chmod +x "$cache_root/toolchain/$fallback_go"/bin/* "$cache_root/toolchain/$fallback_go"/pkg/tool/*/*
  go_bin="$cache_root/toolchain/$fallback_go/bin/go"
fi
export PATH="$(dirname "$go_bin"):$PATH"
# Never let go.mod's `go` line trigger another toolchain download behind our back.
export GOTOOLCHAIN=local

echo "envtest: building Kubernetes $k8s_version (${binaries[*]:0:7}), etcd $etcd_version and CoreDNS $coredns_version with $(go version | awk '{print $3}')"
echo "envtest: output $bin_dir (cold: ~1 GB of modules, ~15 minutes on 2 cores)"
start=$(date +%s)
mkdir -p "$bin_dir"
# Build into a scratch folder and move into place at the end so an interrupted build never
# leaves a half-written binary that the "present" check would accept.
tmp_out="$(mktemp -d "$cache_root/$k8s_version/.build.XXXXXX")"
trap 'rm -rf "$tmp_out"' EXIT

# go.sum is complete and committed: a build must never rewrite go.mod or go.sum.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
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
echo "envtest: [1/3] downloading modules (full log: $log)"
t0=$(date +%s)
if ! { go mod download && (cd coredns && go mod download); } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "build.sh: go mod download failed" >&2
  exit 1
fi
echo "envtest:       done in $(($(date +%s) - t0)) s"

# -v names each package as it is compiled, summarised here as a running count.
compile() {
  local label="$1"
  shift
  set +e
  nice -n 5 go build -v -trimpath "$@" 2>&1 |
    tee -a "$log" |
    awk '{ n++; if (n % 250 == 0) { printf "envtest:       %d packages compiled (%ds)\n", n, systime() - t0; fflush() } }' t0="$t0"
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "build.sh: go build of $label failed (exit $status); full log: $log" >&2
    exit "$status"
  fi
}
echo "envtest: [2/3] compiling Kubernetes and etcd"
# One `go build` for all Kubernetes commands shares the compilation of common packages.
compile kubernetes -ldflags="$ldflags" -o "$tmp_out/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kubectl \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kube-proxy \
  ./cmd/etcd
echo "envtest: [3/3] compiling CoreDNS $coredns_version"
(cd coredns && compile coredns -ldflags="-s -w" -o "$tmp_out/coredns" ./cmd/coredns)
for b in "${binaries[@]}"; do
  mv -f "$tmp_out/$b" "$bin_dir/$b"
done
end=$(date +%s)
echo "envtest: built in $((end - start)) s; binaries: $(du -sh "$bin_dir" | cut -f1)"
"$bin_dir/kubectl" version --client 2>/dev/null | head -1 | sed 's/^/envtest: /' || true
echo "$bin_dir"
