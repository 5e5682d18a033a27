#!/usr/bin/env bash
# Builds the container images of the real-Kubernetes test sites on this machine, without a registry
# and without a Docker engine: `buildah from scratch`, files copied from this machine (binaries plus
# exactly the shared libraries `ldd` names), one OCI archive per image in a cache folder. Load them
# into a containerd with `loadImages(socket)` from images.ts (or `ctr images import`).
#
#   bash test/cluster/images/build.sh                      build what is missing or out of date
#   bash test/cluster/images/build.sh gateway testbox      only these (pause gateway coredns testbox)
#   bash test/cluster/images/build.sh --force [names]      rebuild even if up to date
#   bash test/cluster/images/build.sh --print              only print the archive folder
#
# Images (names and files also in images.env and images.ts):
#   localhost/clusterlink/pause:3.10      pause.c, compiled here with gcc -static (containerd sandbox_image)
#   localhost/clusterlink/clusterlink:dev the gateway: the same contents as the repository's Dockerfile,
#                                         built from the checkout this script is in
#   localhost/clusterlink/coredns:1.14    the CoreDNS binary at $CLUSTERLINK_COREDNS_BIN (skipped if unset)
#   localhost/clusterlink/testbox:1       curl, iperf3, redis, busybox and an HTTP echo, for test Pods
#
# Archive folder: ${CLUSTERLINK_IMAGES_DIR:-~/.cache/clusterlink/images}, one <name>.oci.tar per
# image, plus <archive>.stamp (hash of the image's inputs: an image is rebuilt only when it changed)
# and <archive>.digest (manifest digest, used by loadImages to tell a stale loaded image). Runs as
# root (buildah). Storage driver vfs (works everywhere; CLUSTERLINK_IMAGES_STORAGE_DRIVER=overlay to
# try another), under the archive folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
# shellcheck source=images.env
source "$here/images.env"

log() { echo "images: $*"; }
die() {
  echo "build.sh: $*" >&2
  exit 1
}

force=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --print)
      echo "$images_dir"
      exit 0
      ;;
    --force) force=1 ;;
    pause | gateway | coredns | testbox) targets+=("$arg") ;;
    *) die "unknown argument '$arg' (expected --print, --force, pause, gateway, coredns, testbox)" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(pause gateway coredns testbox)

[ "$(id -u)" = 0 ] || die "run as root: buildah mounts the images' file systems"
for tool in buildah gcc strip ldd sha256sum flock node npm; do
  command -v "$tool" >/dev/null || die "'$tool' not found (Debian: apt-get install buildah gcc libc6-dev binutils util-linux; Node 20 for node/npm)"
done

mkdir -p "$images_dir"
# One build at a time per archive folder: they share buildah's storage.
exec 9>"$images_dir/.lock"
flock -n 9 || {
  log "another build.sh holds $images_dir/.lock; waiting"
  flock 9
}

storage="$images_dir/.buildah"
bh() {
  buildah --root "$storage/root" --runroot "$storage/run" \
    --storage-driver "${CLUSTERLINK_IMAGES_STORAGE_DRIVER:-vfs}" "$@"
}

# Working containers and staging folders to remove however the script ends.
cleanup_containers=()
cleanup_dirs=()
cleanup() {
  local c d
  for c in "${cleanup_containers[@]}"; do bh rm "$c" >/dev/null 2>&1 || true; done
  for d in "${cleanup_dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# hash_files PATH...: one hash over the contents, modes and relative names of the files (folders
# recursively). Relative paths are taken from the current folder.
hash_files() {
  {
    find "$@" -type f -printf '%m %p\n' | LC_ALL=C sort
    find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  } | sha256sum | cut -c1-64
}

# shared_libs BINARY...: the shared libraries ldd names for the binaries, loader included, one
# path a line (nothing for a static binary).
shared_libs() {
  local b
  for b in "$@"; do
    { ldd "$b" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | LC_ALL=C sort -u
}

# The state of one image build: the working container and its mounted root.
ctr_id=""
rootfs=""
start_image() {
  ctr_id="$(bh from scratch)"
  cleanup_containers+=("$ctr_id")
  rootfs="$(bh mount "$ctr_id")"
}

# Debian's merged /usr: /bin, /sbin, /lib, /lib64 are links into /usr, so a binary or library finds
# its peers at any of the paths ldd or a script names.
merged_usr() {
  mkdir -p "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/lib64" "$rootfs/etc"
  ln -s usr/bin "$rootfs/bin"
  ln -s usr/sbin "$rootfs/sbin"
  ln -s usr/lib "$rootfs/lib"
  ln -s usr/lib64 "$rootfs/lib64"
}

# add_binary SOURCE DEST: copies a binary (links followed) to DEST in the image, with its libraries.
add_binary() {
  install -D -m 0755 "$(readlink -f "$1")" "$rootfs$2"
  local lib
  while read -r lib; do
    [ -e "$rootfs$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
  done < <(shared_libs "$1")
}

# add_file MODE DEST: the standard input as a file in the image.
add_file() {
  mkdir -p "$(dirname "$rootfs$2")"
  cat >"$rootfs$2"
  chmod "$1" "$rootfs$2"
}

# base_files USER UID HOME SHELL: /etc/passwd and /etc/group with root, the image's user and nobody;
# /etc/nsswitch.conf (users from files; hosts from /etc/hosts, then DNS, as in a Debian image);
# /tmp (1777) and /root. glibc 2.36 has the files and dns NSS back ends and the resolver inside
# libc.so.6: nothing more is needed for getaddrinfo() of <svc>.<ns>.svc.cluster.local.
base_files() {
  local user="$1" uid="$2" home="$3" shell="$4"
  add_file 0644 /etc/passwd <<EOF
root:x:0:0:root:/root:$shell
$user:x:$uid:$uid:$user:$home:$shell
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  add_file 0644 /etc/group <<EOF
root:x:0:
$user:x:$uid:
nogroup:x:65534:
EOF
  add_file 0644 /etc/nsswitch.conf <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
  install -d -m 1777 "$rootfs/tmp"
  install -d -m 0700 "$rootfs/root"
}

# finish_image NAME ARCHIVE STAMP [buildah config options...]: commits the working container and
# writes the OCI archive (then the digest and the stamp, so an interrupted build is never
# taken as up to date).
finish_image() {
  local name="$1" archive="$2" stamp="$3"
  shift 3
  bh config "$@" "$ctr_id"
  bh umount "$ctr_id" >/dev/null
  local image_id
  image_id="$(bh commit -q --rm "$ctr_id" "$name")"
  cleanup_containers=()
  rm -f "$archive" "$archive.stamp" "$archive.digest"
  bh push -q --digestfile "$archive.digest.tmp" "$image_id" "oci-archive:$archive.tmp:$name"
  mv -f "$archive.tmp" "$archive"
  mv -f "$archive.digest.tmp" "$archive.digest"
  echo "$stamp" >"$archive.stamp"
  bh rmi -f "$image_id" >/dev/null
}

up_to_date() {
  [ "$force" = 0 ] && [ -f "$1" ] && [ -f "$1.stamp" ] && [ -f "$1.digest" ] && [ "$(cat "$1.stamp")" = "$2" ]
}

size_of() { du -h "$1" | cut -f1; }

script_hash="$(cd "$here" && hash_files build.sh images.env)"
summary=()

# ---------------------------------------------------------------------------------------------
build_pause() {
  local stamp
  stamp="$(cd "$here" && hash_files pause.c)-$script_hash-$(gcc --version | head -1 | sha256sum | cut -c1-16)"
  if up_to_date "$pause_archive" "$stamp"; then
    summary+=("$pause_image  $(size_of "$pause_archive")  up to date  $pause_archive")
    return
  fi
  log "pause: compiling pause.c (gcc -static)"
  local out
  out="$(mktemp -d "$images_dir/.pause.XXXXXX")"
  cleanup_dirs+=("$out")
  gcc -static -Os -Wall -Wextra -Werror -o "$out/pause" "$here/pause.c"
  strip "$out/pause"
  log "pause: assembling $pause_image"
  start_image
  install -D -m 0755 "$out/pause" "$rootfs/pause"
  finish_image "$pause_image" "$pause_archive" "$stamp" \
    --entrypoint '["/pause"]' --cmd '[]' --user 65535:65535 \
    --label org.opencontainers.image.description="ClusterLink test sites: Pod sandbox (pause.c)"
  summary+=("$pause_image  $(size_of "$pause_archive")  built  $pause_archive")
}

# ---------------------------------------------------------------------------------------------
# The gateway image. KEEP IN STEP WITH THE REPOSITORY'S Dockerfile: the same files (package.json,
# lib/ from `npm run build`, production node_modules), the same user (1000:1000 "node"), working
# folder, environment, ports, entrypoint and command. The Dockerfile builds it from node:20-slim
# for a registry; this builds it from this machine's Node 20 for the test sites.
build_gateway() {
  local node_bin
  node_bin="$(readlink -f "$(command -v node)")"
  local node_major
  node_major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
  [ "$node_major" = 20 ] || die "the gateway image needs Node 20 (the Dockerfile's node:20-slim); $node_bin is $("$node_bin" --version)"
  [ -x "$repo/node_modules/.bin/tsc" ] || die "TypeScript is not installed in $repo: run 'npm ci' there first"
  local sources=(package.json package-lock.json tsconfig.json tsconfig.build.json constructs controller dataplane cli imports bench)
  local src
  for src in "${sources[@]}"; do [ -e "$repo/$src" ] || die "$repo/$src is missing: is $repo a ClusterLink checkout?"; done

  local stamp libs_hash
  libs_hash="$(shared_libs "$node_bin" | xargs sha256sum "$node_bin" | sha256sum | cut -c1-64)"
  stamp="$(cd "$repo" && hash_files "${sources[@]}")-$libs_hash-$script_hash"
  if up_to_date "$gateway_archive" "$stamp"; then
    summary+=("$gateway_image  $(size_of "$gateway_archive")  up to date  $gateway_archive")
    return
  fi

  local staging
  staging="$(mktemp -d "$images_dir/.gateway.XXXXXX")"
  cleanup_dirs+=("$staging")
  mkdir -p "$staging/app"
  local t0=$SECONDS
  log "gateway [1/4] compiling TypeScript from $repo (npm run build, into a staging lib/)"
  (cd "$repo" && npm run build --silent -- --outDir "$staging/app/lib") || die "npm run build failed in $repo"
  log "gateway        done in $((SECONDS - t0)) s"
  t0=$SECONDS
  log "gateway [2/4] production node_modules (npm ci --omit=dev in the staging copy)"
  cp "$repo/package.json" "$repo/package-lock.json" "$staging/app/"
  (cd "$staging/app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >"$staging/npm.log" 2>&1) || {
    tail -n 30 "$staging/npm.log" >&2
    die "npm ci --omit=dev failed (log above)"
  }
  # The Dockerfile's final stage copies package.json, node_modules and lib, not the lock file.
  rm -f "$staging/app/package-lock.json"
  log "gateway        done in $((SECONDS - t0)) s ($(du -sh "$staging/app/node_modules" | cut -f1) of node_modules)"

  t0=$SECONDS
  log "gateway [3/4] file system: /app, $node_bin ($("$node_bin" --version)) and its libraries"
  start_image
  merged_usr
  add_binary "$node_bin" /usr/bin/node
  log "gateway        Node runtime libraries: $(shared_libs "$node_bin" | tr '\n' ' ')"
  mkdir -p "$rootfs/app"
  cp -a "$staging/app/." "$rootfs/app/"
  chown -R 0:0 "$rootfs/app"
  chmod -R u+rwX,go+rX,go-w "$rootfs/app"
  base_files node 1000 /home/node /usr/sbin/nologin
  install -d -m 0755 -o 1000 -g 1000 "$rootfs/home/node"

  log "gateway [4/4] committing and writing $gateway_archive"
  local version
  version="$("$node_bin" -p 'require(process.argv[1]).version' "$repo/package.json")"
  finish_image "$gateway_image" "$gateway_archive" "$stamp" \
    --workingdir /app --user 1000:1000 \
    --env NODE_ENV=production --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --port 8443 --port 9444 --port 9090 \
    --entrypoint '["node","lib/cli/main.js"]' --cmd '["--help"]' \
    --label org.opencontainers.image.title=clusterlink \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.description="ClusterLink gateway (test build from $(basename "$repo"); see the Dockerfile)"
  log "gateway        done in $((SECONDS - t0)) s"
  summary+=("$gateway_image  $(size_of "$gateway_archive")  built  $gateway_archive")
}

# ---------------------------------------------------------------------------------------------
build_coredns() {
  if [ -z "${CLUSTERLINK_COREDNS_BIN:-}" ]; then
    log "coredns: CLUSTERLINK_COREDNS_BIN is not set; skipping $coredns_image"
    summary+=("$coredns_image  -  skipped (CLUSTERLINK_COREDNS_BIN unset)")
    return
  fi
  local bin="$CLUSTERLINK_COREDNS_BIN"
  [ -f "$bin" ] && [ -x "$bin" ] || die "CLUSTERLINK_COREDNS_BIN=$bin is not an executable file"
  local stamp
  stamp="$(shared_libs "$bin" | xargs sha256sum "$bin" | sha256sum | cut -c1-64)-$script_hash"
  if up_to_date "$coredns_archive" "$stamp"; then
    summary+=("$coredns_image  $(size_of "$coredns_archive")  up to date  $coredns_archive")
    return
  fi
  log "coredns: assembling $coredns_image from $bin"
  start_image
  merged_usr
  add_binary "$bin" /coredns
  base_files nonroot 65532 /home/nonroot /usr/sbin/nologin
  finish_image "$coredns_image" "$coredns_archive" "$stamp" \
    --entrypoint '["/coredns"]' --cmd '[]' --user 65532:65532 \
    --port 53/udp --port 53/tcp --port 9153/tcp \
    --label org.opencontainers.image.description="CoreDNS for the ClusterLink test sites"
  summary+=("$coredns_image  $(size_of "$coredns_archive")  built  $coredns_archive")
}

# ---------------------------------------------------------------------------------------------
testbox_bins=(/usr/bin/curl /usr/bin/iperf3 /usr/bin/redis-server /usr/bin/redis-cli /usr/bin/redis-benchmark)
build_testbox() {
  local busybox=""
  local b
  for b in /usr/bin/busybox /bin/busybox; do
    if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
      busybox="$b"
      break
    fi
  done
  [ -n "$busybox" ] || die "no static busybox found (apt-get install busybox-static)"
  for b in "${testbox_bins[@]}"; do
    [ -x "$b" ] || die "$b not found (apt-get install curl iperf3 redis-server redis-tools)"
  done
  local stamp
  stamp="$({
    shared_libs "${testbox_bins[@]}"
    printf '%s\n' "$busybox" "${testbox_bins[@]}"
  } | xargs sha256sum | sha256sum | cut -c1-64)"
  stamp="$stamp-$(cd "$here" && hash_files testbox)-$script_hash"
  if up_to_date "$testbox_archive" "$stamp"; then
    summary+=("$testbox_image  $(size_of "$testbox_archive")  up to date  $testbox_archive")
    return
  fi
  log "testbox: assembling $testbox_image (curl, iperf3, redis, busybox, HTTP echo)"
  start_image
  merged_usr
  for b in "${testbox_bins[@]}"; do add_binary "$b" "$b"; done
  install -m 0755 "$busybox" "$rootfs/usr/bin/busybox"
  # busybox's applets (sh, sleep, nc, httpd, wget, nslookup, ...) as links, where no real binary is.
  local applet n=0
  while read -r applet; do
    if [ ! -e "$rootfs/$applet" ] && [ ! -L "$rootfs/$applet" ]; then
      mkdir -p "$(dirname "$rootfs/$applet")"
      ln -s /usr/bin/busybox "$rootfs/$applet"
      n=$((n + 1))
    fi
  done < <("$busybox" --list-full)
  log "testbox        $n busybox applets linked"
  install -D -m 0755 "$here/testbox/echo-server" "$rootfs/usr/local/bin/echo-server"
  install -D -m 0755 "$here/testbox/index.cgi" "$rootfs/www/cgi-bin/index.cgi"
  base_files test 1000 /tmp /bin/sh
  install -d -m 1777 "$rootfs/data"
  finish_image "$testbox_image" "$testbox_archive" "$stamp" \
    --workingdir /data \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --port 8080 --entrypoint '[]' --cmd '["echo-server"]' \
    --label org.opencontainers.image.description="ClusterLink test client/server: curl, iperf3, redis, busybox, HTTP echo"
  summary+=("$testbox_image  $(size_of "$testbox_archive")  built  $testbox_archive")
}

start=$SECONDS
log "building into $images_dir: ${targets[*]}"
for target in "${targets[@]}"; do
  t0=$SECONDS
  "build_$target"
  log "$target: $((SECONDS - t0)) s"
done
log "done in $((SECONDS - start)) s"
for line in "${summary[@]}"; do log "  $line"; done
