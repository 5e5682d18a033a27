#!/usr/bin/env bash
# Checks the images build.sh made by running them for real: a throwaway containerd (its own root,
# state and socket in a temporary folder; CRI plug-in off, ctr only), the archives loaded with
# loadImages() from images.ts (twice: the second call must skip every image), then each image run
# with `ctr run`. A network namespace with a stub DNS server (dns-stub.mjs) stands in for a Pod
# network: containers join it with a resolv.conf like a Pod's, so curl, redis-cli, iperf3 and Node
# resolve <svc>.<ns>.svc.cluster.local names from inside the images. Everything it started is
# stopped and its folders removed at the end, whatever happened.
#
#   bash test/cluster/images/build.sh && bash test/cluster/images/verify.sh     (root)
#
# Exit status 0 only if every check passed; each check prints one line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
# shellcheck source=images.env
source "$here/images.env"

die() {
  echo "verify.sh: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "run as root (containerd, runc, network namespaces)"
for tool in containerd ctr runc ip curl node; do command -v "$tool" >/dev/null || die "'$tool' not found"; done
for a in "$pause_archive" "$gateway_archive" "$testbox_archive"; do
  [ -f "$a" ] || die "$a is missing: run bash test/cluster/images/build.sh first"
done

# Short path: containerd's sockets live under it.
work="$(mktemp -d /tmp/clv.XXXXXX)"
sock="$work/containerd.sock"
netns="clv-$$"
containerd_pid=""
dns_pid=""
containers=()

cleanup() {
  set +e
  local c
  for c in "${containers[@]}"; do
    ctr --address "$sock" -n k8s.io task kill -s SIGKILL "$c" >/dev/null 2>&1
  done
  sleep 0.5
  for c in "${containers[@]}"; do
    ctr --address "$sock" -n k8s.io task delete -f "$c" >/dev/null 2>&1
    ctr --address "$sock" -n k8s.io container delete "$c" >/dev/null 2>&1
  done
  [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null
  if [ -n "$containerd_pid" ]; then
    kill "$containerd_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$containerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$containerd_pid" 2>/dev/null
  fi
  ip netns del "$netns" 2>/dev/null
  # Snapshot and shm mounts left by an interrupted run, deepest first.
  grep -o " $work/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

c() { ctr --address "$sock" --namespace k8s.io "$@"; }

failures=0
pass() { echo "  ok    $*"; }
fail() {
  echo "  FAIL  $*"
  failures=$((failures + 1))
}
# expect DESCRIPTION REGEX COMMAND...: runs the command, passes if it exits 0 and its output
# (stdout and stderr) matches the extended regular expression.
expect() {
  local what="$1" pattern="$2" out
  shift 2
  # Progress lines that end in a carriage return count as lines of their own.
  if out="$("$@" 2>&1 | tr '\r' '\n')" && grep -Eq -- "$pattern" <<<"$out"; then
    pass "$what: $(grep -Em1 -- "$pattern" <<<"$out" | cut -c1-100)"
  else
    fail "$what (wanted /$pattern/); output:"
    sed 's/^/          /' <<<"$out" | tail -n 15
  fi
}
# until_ok SECONDS COMMAND...: retries the command every 0.2 s.
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

echo "== throwaway containerd in $work"
mkdir -p "$work/root" "$work/state"
cat >"$work/containerd.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
EOF
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
until_ok 20 c version || {
  tail -n 20 "$work/containerd.log" >&2
  die "containerd did not answer on $sock"
}
echo "  containerd $(c version | awk '/Server:/{s=1} s && /Version:/{print $2; exit}') up (pid $containerd_pid)"

echo "== loadImages() from images.ts"
load() {
  (cd "$repo" && SOCK="$sock" IMAGES="$1" npx --no-install ts-node --transpile-only -e '
    const m = require("./test/cluster/images/images");
    const images = m.allImages.filter((i) => process.env.IMAGES.split(" ").includes(i.archive));
    const t0 = Date.now();
    m.loadImages(process.env.SOCK, { images }).then(
      (r) => console.log(JSON.stringify({ ...r, ms: Date.now() - t0 })),
      (e) => { console.error(e.message); process.exit(1); });')
}
archives="$pause_archive $gateway_archive $testbox_archive"
if [ -f "$coredns_archive" ]; then archives+=" $coredns_archive"; fi
expect "first load imports every archive" '"imported":\[("[^"]+",?){3,4}\],"present":\[\]' load "$archives"
expect "second load skips them (same digests)" '"imported":\[\],"present":\[("[^"]+",?){3,4}\]' load "$archives"
c images ls | awk 'NR > 1 { printf "          %s %s %s %s\n", $1, $3, $4, $5 }'

echo "== $pause_image"
expect "version" '^clusterlink pause 3\.10$' c run --rm "$pause_image" clv-pause-v /pause -v
containers+=(clv-pause)
c run --rm "$pause_image" clv-pause >"$work/pause.log" 2>&1 &
pause_ctr=$!
if until_ok 20 sh -c "ctr --address '$sock' -n k8s.io task ls | grep -q 'clv-pause .*RUNNING'"; then
  pid="$(c task ls | awk '$1 == "clv-pause" { print $2 }')"
  [ "$(stat -c %u:%g "/proc/$pid")" = "65535:65535" ] && pass "runs as 65535:65535 (pid $pid)" || fail "user of pid $pid: $(stat -c %u:%g "/proc/$pid")"
  t0=$(date +%s%N)
  c task kill -s SIGTERM clv-pause
  if wait "$pause_ctr"; then
    pass "exits 0 on SIGTERM after $((($(date +%s%N) - t0) / 1000000)) ms"
  else
    fail "exit status on SIGTERM: $?; $(cat "$work/pause.log")"
  fi
else
  fail "pause did not start: $(cat "$work/pause.log")"
fi

echo "== $gateway_image"
expect "default command prints --help" 'Usage: clusterlink' c run --rm "$gateway_image" clv-gw-help
expect "package name and version" "^clusterlink $(node -p "require('$repo/package.json').version" | sed 's/\./\\./g')\$" \
  c run --rm "$gateway_image" clv-gw-version node -p 'const p = require("./package.json"); p.name + " " + p.version'
expect "user, working folder, environment, Node" '^1000 1000 node /app production v20\.' \
  c run --rm "$gateway_image" clv-gw-id node -e \
  'console.log(process.getuid(), process.getgid(), require("os").userInfo().username, process.cwd(), process.env.NODE_ENV, process.version)'
expect "every production dependency imports" '^imported [0-9]+ dependencies' \
  c run --rm "$gateway_image" clv-gw-deps node --input-type=module -e \
  'const p = JSON.parse((await import("node:fs")).readFileSync("package.json", "utf8"));
   const deps = Object.keys(p.dependencies);
   await import("reflect-metadata"); // what lib/ loads first, before @peculiar/x509
   for (const d of deps) await import(d);
   console.log("imported", deps.length, "dependencies");'
expect "read-only root file system: dataplane --help" 'Usage: clusterlink dataplane' \
  c run --rm --read-only "$gateway_image" clv-gw-ro node lib/cli/main.js dataplane --help
expect "no write access to /app as user 1000" 'EACCES' \
  c run --rm "$gateway_image" clv-gw-ro2 node -e 'try { require("fs").writeFileSync("/app/x", ""); console.log("wrote") } catch (e) { console.log(e.code) }'

echo "== $testbox_image"
expect "curl --version" '^curl [0-9.]+' c run --rm "$testbox_image" clv-t1 curl --version
expect "iperf3 --version" '^iperf [0-9.]+' c run --rm "$testbox_image" clv-t2 iperf3 --version
expect "redis-cli --version" '^redis-cli [0-9.]+' c run --rm "$testbox_image" clv-t3 redis-cli --version
expect "redis-server --version" '^Redis server v=[0-9.]+' c run --rm "$testbox_image" clv-t4 redis-server --version
expect "redis-benchmark --version" '^redis-benchmark [0-9.]+' c run --rm "$testbox_image" clv-t5 redis-benchmark --version
expect "busybox applets (sh, sleep, nc, httpd, wget, nslookup, id)" '^all present uid=0\(root\)' \
  c run --rm "$testbox_image" clv-t6 sh -c \
  'for a in sleep nc httpd wget nslookup cat id hostname; do command -v $a >/dev/null || { echo missing $a; exit 1; }; done; echo all present $(id)'

echo "== name resolution and servers in a Pod-like network namespace"
ip netns add "$netns"
ip -n "$netns" link set lo up
ip netns exec "$netns" node "$here/dns-stub.mjs" 127.0.0.1 127.0.0.1 >"$work/dns.log" 2>&1 &
dns_pid=$!
cat >"$work/resolv.conf" <<'EOF'
search test.svc.cluster.local svc.cluster.local cluster.local
nameserver 127.0.0.1
options ndots:5
EOF
in_pod=(--with-ns "network:/var/run/netns/$netns" --mount "type=bind,src=$work/resolv.conf,dst=/etc/resolv.conf,options=rbind:ro")
serve() { # NAME COMMAND...: a detached server container in the namespace
  local name="$1"
  shift
  containers+=("$name")
  c run -d "${in_pod[@]}" "$@" >/dev/null
}
serve clv-echo --env SITE_NAME=verify-site "$testbox_image" clv-echo
serve clv-redis "$testbox_image" clv-redis redis-server --port 6379 --save "" --appendonly no
serve clv-iperf "$testbox_image" clv-iperf iperf3 -s -p 5201
until_ok 20 ip netns exec "$netns" curl -fsS http://127.0.0.1:8080/ || fail "echo server did not answer on 8080"
until_ok 20 ip netns exec "$netns" bash -c '</dev/tcp/127.0.0.1/6379' || fail "redis-server did not listen on 6379"
until_ok 20 ip netns exec "$netns" bash -c '</dev/tcp/127.0.0.1/5201' || fail "iperf3 did not listen on 5201"

expect "echo, from the host (curl in the namespace)" '^site=verify-site' ip netns exec "$netns" curl -fsS http://127.0.0.1:8080/
expect "curl resolves echo.test.svc.cluster.local" '^site=verify-site' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-curl curl -fsS --max-time 5 http://echo.test.svc.cluster.local:8080/
expect "curl resolves the short name through the search list" '^host=' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-curl2 curl -fsS --max-time 5 http://echo:8080/
expect "busybox wget and nslookup" 'site=verify-site' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-wget sh -c \
  'nslookup echo.test.svc.cluster.local >/dev/null && wget -qO- http://echo.test.svc.cluster.local:8080/'
expect "redis-cli ping by name" '^PONG' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-rcli redis-cli -h redis.test.svc.cluster.local ping
expect "redis-benchmark by name" 'requests per second' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-rbench redis-benchmark -h redis.test.svc.cluster.local -n 2000 -q -t set,get
expect "iperf3 by name (1 s)" 'receiver' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-iperfc iperf3 -c iperf.test.svc.cluster.local -p 5201 -t 1
expect "Node in the gateway image resolves by name" '^127\.0\.0\.1$' \
  c run --rm "${in_pod[@]}" "$gateway_image" clv-gw-dns node -e \
  'require("dns").lookup("gw.test.svc.cluster.local", 4, (e, a) => { if (e) throw e; console.log(a) })'
expect "non-existent name fails cleanly" 'Could not resolve host' \
  c run --rm "${in_pod[@]}" "$testbox_image" clv-nx sh -c 'curl -sS --max-time 5 http://no.such.name/ 2>&1; true'

echo "== the gateway image runs a gateway (non-root, read-only root file system)"
gw="$work/gw"
mkdir -p "$gw"
chown 1000:1000 "$gw"
gw_files=(--mount "type=bind,src=$gw,dst=/work,options=rbind:rw")
expect "clusterlink create fabric as user 1000" '' \
  c run --rm "${gw_files[@]}" "$gateway_image" clv-gw-fabric node lib/cli/main.js create fabric --path /work
expect "clusterlink create peer-cert --name east" '' \
  c run --rm "${gw_files[@]}" "$gateway_image" clv-gw-cert node lib/cli/main.js create peer-cert --name east --path /work
install -d -o 1000 -g 1000 "$gw/east"
install -o 1000 -g 1000 -m 0600 "$gw/default_fabric/cert.pem" "$gw/east/ca.pem"
install -o 1000 -g 1000 -m 0600 "$gw/default_fabric/east/cert.pem" "$gw/default_fabric/east/key.pem" "$gw/east/"
serve clv-gw --read-only "${gw_files[@]}" "$gateway_image" clv-gw node lib/cli/main.js gateway --config /work/east
if until_ok 30 ip netns exec "$netns" curl -fsS http://127.0.0.1:9090/readyz; then
  expect "standalone gateway /readyz" '' ip netns exec "$netns" curl -fsS http://127.0.0.1:9090/readyz
  expect "gateway port: mutual TLS GET /healthz as peer east" '^200$' \
    ip netns exec "$netns" curl -sS -o /dev/null -w '%{http_code}' --resolve east:8443:127.0.0.1 \
    --cacert "$gw/east/ca.pem" --cert "$gw/east/cert.pem" --key "$gw/east/key.pem" https://east:8443/healthz
else
  fail "the gateway did not become ready on 9090; its output:"
  c task ls | grep clv-gw || true
fi

if [ -f "$coredns_archive" ]; then
  echo "== $coredns_image"
  expect "coredns -version" 'CoreDNS-1\.14' c run --rm "$coredns_image" clv-coredns /coredns -version
fi

echo
if [ "$failures" -eq 0 ]; then
  echo "verify: all checks passed"
else
  echo "verify: $failures check(s) failed"
  exit 1
fi
