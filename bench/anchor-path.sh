# shellcheck shell=bash
# Our gateway as a path of the shared reference harness (../shared/bench/anchors/run.sh):
#   npm run build && PATHS="direct haproxy clusterlink" EXTRA_PATHS=bench/anchor-path.sh \
#     bash ../shared/bench/anchors/run.sh
# start_clusterlink starts two DataPlane processes like that harness's other paths: A (import
# listeners on A_REDIS/A_IPERF, plain TCP in) and B (the gateway port B_PORT, mTLS, one h2 session
# from A carries every tunnel), with the harness's certificates (peer names gw-a.test, gw-b.test).
# Sourced by run.sh, which provides WORK, CERTS, SVC_REDIS, SVC_IPERF, CPU_A, CPU_B, ports_for, spawn.

CLUSTERLINK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

start_clusterlink() {
  ports_for 6; local d=$WORK/clusterlink; mkdir -p "$d"
  local site=$CLUSTERLINK_ROOT/lib/bench/site.js
  if [ ! -f "$site" ]; then
    echo "run npm run build in $CLUSTERLINK_ROOT first" >"$OUT/skipped-clusterlink.txt"; return 1
  fi
  spawn "$d/b.log" "${CPU_B[@]}" node "$site" --anchor b "$CERTS" "$B_PORT" "$SVC_REDIS" "$SVC_IPERF"
  spawn "$d/a.log" "${CPU_A[@]}" node "$site" --anchor a "$CERTS" "$B_PORT" "$A_REDIS" "$A_IPERF"
}
