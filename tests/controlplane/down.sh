#!/usr/bin/env bash
# Stop the control plane started by up.sh (etcd and the API server, by their recorded PIDs).
# The state folder (logs, audit log, kubeconfig) is left for inspection; up.sh starts afresh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${KEYWARD_STATE:-/tmp/keyward-controlplane}
[ -d "$STATE" ] || exit 0
exec 9>"$STATE/.lock"
flock 9
# shellcheck source=lib.sh
. "$HERE/lib.sh"
stop_controlplane "$STATE"
echo "down.sh: stopped (state kept in $STATE)" >&2
