#!/usr/bin/env bash
# Prepares what the real-Kubernetes suite needs beyond the test API server: the node binaries
# (test/envtest/build.sh, cached) and the container images, loaded by the suite into each site's
# containerd (test/cluster/images/build.sh, cached). Both skip work that is already done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$(bash "$here/../envtest/build.sh" | tail -n 1)"
(cd "$here/../.." && npm run build --silent)
export CLUSTERLINK_COREDNS_BIN="${CLUSTERLINK_COREDNS_BIN:-$bin_dir/coredns}"
bash "$here/images/build.sh"
