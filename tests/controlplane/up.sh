#!/usr/bin/env bash
# Start Keyward's local Kubernetes control plane (real etcd + a small API server built from the
# real Kubernetes apiserver libraries) and print `KUBECONFIG=<path>` as the last line on stdout.
#
# Everything comes from Debian sid packages, downloaded with a private apt configuration and
# extracted into a cache folder; nothing is installed into the system. Progress goes to stderr.
#
#   KEYWARD_CACHE   cache root (default ~/.cache/keyward); this script uses $KEYWARD_CACHE/controlplane
#   KEYWARD_STATE   state folder: etcd data, certificates, kubeconfig, pids, logs, audit log
#                   (default /tmp/keyward-controlplane)
#   KEYWARD_CONTROLPLANE_REFRESH=1   look for newer sid packages instead of the recorded ones
#
# Idempotent: while the control plane runs, a second call reuses it and prints the same line.
# Concurrent callers are serialised with flock. Stop it with down.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KEYWARD_CACHE:-$HOME/.cache/keyward}/controlplane
STATE=${KEYWARD_STATE:-/tmp/keyward-controlplane}
KUBECONFIG_OUT=$STATE/kubeconfig
K8S_VERSION_FALLBACK=v1.36.0

log() { printf 'up.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$CACHE" "$STATE"
exec 9>"$STATE/.lock"
flock 9

# shellcheck source=lib.sh
. "$HERE/lib.sh"

# The binary for the recorded packages and the current sources (the build cache key).
server_binary() {
  local pkg_key src_key
  pkg_key=$(sha256sum "$CACHE/packages.lock" | cut -c1-16)
  src_key=$(cat "$HERE"/server/*.go "$HERE/build.sh" | sha256sum | cut -c1-16)
  echo "$CACHE/bin/keyward-controlplane-$pkg_key-$src_key"
}

if controlplane_running "$STATE"; then
  if [ "$(cat "$STATE/apiserver.binary")" = "$(server_binary)" ]; then
    log "already running (etcd pid $(cat "$STATE/etcd.pid"), apiserver pid $(cat "$STATE/apiserver.pid"))"
    echo "KUBECONFIG=$KUBECONFIG_OUT"
    exit 0
  fi
  log "the running server is older than the sources or packages; restarting"
fi
# Leftovers of a crashed or half-started run.
stop_controlplane "$STATE"

T0=$SECONDS

# ---------------------------------------------------------------------------------------------
# 1. Packages: resolve (once, then recorded in packages.lock), download what is missing, extract.
# ---------------------------------------------------------------------------------------------
APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$CACHE/debs"
echo 'deb [trusted=yes] http://deb.debian.org/debian sid main' >"$APT/sources.list"
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
  -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q
)

resolve_packages() {
  log "resolving Debian sid packages"
  apt-get "${APT_OPTS[@]}" update >&2
  local goversioned
  # golang-go depends on the versioned toolchain (golang-1.NN-go); its sources come alongside.
  goversioned=$(apt-cache "${APT_OPTS[@]}" depends golang-go | sed -n 's/^ *Depends: \(golang-1\.[0-9]*-go\)$/\1/p' | head -n1)
  [ -n "$goversioned" ] || die "cannot find the Go toolchain package in sid"
  {
    echo "$goversioned"
    echo "${goversioned%-go}-src"
    echo etcd-server
    # Every Go library the apiextensions server, k8s.io/api and kube-openapi need (sources only).
    apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances \
      golang-k8s-apiextensions-apiserver-dev golang-k8s-api-dev golang-k8s-kube-openapi-dev \
      | grep -E '^golang-.*-dev$'
  } | sort -u >"$CACHE/packages.txt"
  # Record name, version and file name of each package; this file is the package half of the
  # build's cache key.
  apt-get "${APT_OPTS[@]}" download --print-uris $(cat "$CACHE/packages.txt") \
    | awk '{gsub("\047", "", $1); print $2, $1}' | sort >"$CACHE/packages.lock.new"
  mv "$CACHE/packages.lock.new" "$CACHE/packages.lock"
}

if [ ! -s "$CACHE/packages.lock" ] || [ "${KEYWARD_CONTROLPLANE_REFRESH:-0}" = 1 ]; then
  resolve_packages
fi

missing=()
while read -r file _url; do
  [ -f "$CACHE/debs/$file" ] || missing+=("$file")
done <"$CACHE/packages.lock"
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} packages"
  t=$SECONDS
  names=()
  for f in "${missing[@]}"; do
    # PKG_VERSION_ARCH.deb -> PKG=VERSION (versions are %-escaped in file names)
    n=${f%%_*}; rest=${f#*_}; v=${rest%_*}
    names+=("$n=${v//%3a/:}")
  done
  if ! (cd "$CACHE/debs" && apt-get "${APT_OPTS[@]}" download "${names[@]}" >&2); then
    [ -z "${KEYWARD_CONTROLPLANE_RETRIED:-}" ] || die "downloading packages failed"
    log "recorded versions are gone from sid; resolving again"
    resolve_packages
    exec 9>&-
    KEYWARD_CONTROLPLANE_RETRIED=1 exec bash "$HERE/up.sh" "$@"
  fi
  log "downloaded in $((SECONDS - t)) s"
fi

PKG_KEY=$(sha256sum "$CACHE/packages.lock" | cut -c1-16)
# A fixed path (not one per key): Go's build cache is keyed by source paths, so keeping the path
# lets a rebuild after a package update reuse everything that did not change.
ROOT=$CACHE/root
if [ "$(cat "$ROOT/.complete" 2>/dev/null)" != "$PKG_KEY" ]; then
  log "extracting packages into $ROOT"
  t=$SECONDS
  rm -rf "$ROOT"
  mkdir -p "$ROOT"
  while read -r file _url; do
    dpkg-deb -x "$CACHE/debs/$file" "$ROOT"
  done <"$CACHE/packages.lock"
  echo "$PKG_KEY" >"$ROOT/.complete"
  log "extracted in $((SECONDS - t)) s"
fi
# Debs no longer in the lock are dead weight.
for deb in "$CACHE"/debs/*.deb; do
  [ -e "$deb" ] || continue
  grep -q "^$(basename "$deb") " "$CACHE/packages.lock" || rm -f "$deb"
done

# ---------------------------------------------------------------------------------------------
# 2. Build (when package versions or sources changed).
# ---------------------------------------------------------------------------------------------
ETCD=$ROOT/usr/bin/etcd
GOROOT_DIR=$(ls -d "$ROOT"/usr/lib/go-1.* | sort -V | tail -n1)
SERVER=$(server_binary)
if [ ! -x "$SERVER" ]; then
  K8S_VERSION=$(sed -n 's/^golang-k8s-apiserver-dev_\([0-9.]*\)-.*/v1.\1/p' "$CACHE/packages.lock" | sed 's/^v1\.0\./v1./' | head -n1)
  bash "$HERE/build.sh" "$ROOT" "$GOROOT_DIR" "$CACHE" "$SERVER" "${K8S_VERSION:-$K8S_VERSION_FALLBACK}" >&2
  for old in "$CACHE"/bin/keyward-controlplane-*; do
    # A control plane with another state folder may still run an older binary.
    [ "$old" = "$SERVER" ] || binary_in_use "$old" || rm -f "$old"
  done
fi

# ---------------------------------------------------------------------------------------------
# 3. Certificates, kubeconfigs, audit policy.
# ---------------------------------------------------------------------------------------------
ETCD_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
API_PORT=$(free_port)
while [ "$ETCD_PEER_PORT" = "$ETCD_PORT" ]; do ETCD_PEER_PORT=$(free_port); done
while [ "$API_PORT" = "$ETCD_PORT" ] || [ "$API_PORT" = "$ETCD_PEER_PORT" ]; do API_PORT=$(free_port); done

rm -rf "$STATE/etcd-data" "$STATE/pki" "$STATE/cert-dir"
mkdir -p "$STATE/pki" "$STATE/cert-dir"
write_pki "$STATE/pki"
write_kubeconfig "$KUBECONFIG_OUT" "https://127.0.0.1:$API_PORT" "$STATE/pki"
# The server's own loopback client (it needs one instead of in-cluster config).
cp "$KUBECONFIG_OUT" "$STATE/apiserver.kubeconfig"
write_kubeconfig "$STATE/unused.kubeconfig" "https://127.0.0.1:1" "$STATE/pki"
cat >"$STATE/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
EOF
: >"$STATE/audit.log"

# ---------------------------------------------------------------------------------------------
# 4. Start etcd, then the API server; both detached, with logs in the state folder.
# ---------------------------------------------------------------------------------------------
log "starting etcd on 127.0.0.1:$ETCD_PORT"
setsid "$ETCD" --name default --data-dir "$STATE/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls '' \
  --unsafe-no-fsync --log-level warn \
  </dev/null >"$STATE/etcd.log" 2>&1 9>&- &
echo $! >"$STATE/etcd.pid"
wait_until 30 "etcd health" curl -fsS "http://127.0.0.1:$ETCD_PORT/health" \
  || { tail -n 20 "$STATE/etcd.log" >&2; stop_controlplane "$STATE"; die "etcd did not become healthy"; }

log "starting the API server on 127.0.0.1:$API_PORT"
setsid "$SERVER" \
  --bind-address 127.0.0.1 --secure-port "$API_PORT" \
  --tls-cert-file "$STATE/pki/server.crt" --tls-private-key-file "$STATE/pki/server.key" \
  --cert-dir "$STATE/cert-dir" \
  --client-ca-file "$STATE/pki/ca.crt" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --kubeconfig "$STATE/apiserver.kubeconfig" \
  --authentication-kubeconfig "$STATE/unused.kubeconfig" \
  --authorization-kubeconfig "$STATE/unused.kubeconfig" \
  --authentication-skip-lookup \
  --disable-admission-plugins MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy \
  --enable-priority-and-fairness=false \
  --audit-policy-file "$STATE/audit-policy.yaml" --audit-log-path "$STATE/audit.log" \
  --audit-log-maxsize 200 --audit-log-maxbackup 1 \
  </dev/null >"$STATE/apiserver.log" 2>&1 9>&- &
echo $! >"$STATE/apiserver.pid"
echo "$SERVER" >"$STATE/apiserver.binary"
echo "$ETCD" >"$STATE/etcd.binary"

api_ready() {
  # /livez, then what clients need first: built-in discovery, the CRD API and the system
  # namespaces (the server creates them right after it starts).
  local c=(curl -fsS --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key") ns
  "${c[@]}" "https://127.0.0.1:$API_PORT/livez" >/dev/null &&
    "${c[@]}" "https://127.0.0.1:$API_PORT/apis/apps/v1" >/dev/null &&
    "${c[@]}" "https://127.0.0.1:$API_PORT/apis/apiextensions.k8s.io/v1/customresourcedefinitions?limit=1" >/dev/null || return 1
  for ns in default kube-system kube-public kube-node-lease; do
    "${c[@]}" "https://127.0.0.1:$API_PORT/api/v1/namespaces/$ns" >/dev/null || return 1
  done
}
wait_until 90 "API server" api_ready \
  || { tail -n 30 "$STATE/apiserver.log" >&2; stop_controlplane "$STATE"; die "the API server did not come up"; }

log "up in $((SECONDS - T0)) s; state in $STATE, audit log $STATE/audit.log"
echo "KUBECONFIG=$KUBECONFIG_OUT"
