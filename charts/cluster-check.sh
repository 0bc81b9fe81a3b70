#!/usr/bin/env bash
# Checks the chart and deploy/ against a real control plane (the one KUBECONFIG points at):
#   1. installs the CRDs from crds/ (server-side apply; needed before custom objects can be checked)
#   2. server-side dry run of the chart rendered with default values and with every option on
#   3. helm install into a fresh namespace (without --wait: a bare control plane may run no pods),
#      then helm uninstall
#   4. kubectl apply -k deploy/ (server-side), then deletes what it created except the CRDs
# Installs helm and kubectl itself. Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/charts/keyward"
HELM="$("$ROOT/charts/install-helm.sh")" || exit 1
KUBECTL="$(dirname "$HELM")/kubectl"
SUFFIX="$(date +%s)-$RANDOM"
NS="keyward-chart-$SUFFIX"
RELEASE="kw-$RANDOM"
OUT="$(mktemp -d)"

passed=0
failed=0
step() {
  local name="$1"
  shift
  if "$@" >"$OUT/log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/     /' "$OUT/log"
  fi
}

cleanup() {
  "$HELM" uninstall "$RELEASE" --namespace "$NS" >/dev/null 2>&1 || true
  if [[ -f "$OUT/deploy.yaml" ]]; then
    # Everything deploy/ created except the CRDs, which other users of the cluster may rely on.
    "$KUBECTL" delete --ignore-not-found --wait=false -f "$OUT/deploy-no-crds.yaml" >/dev/null 2>&1 || true
  fi
  "$KUBECTL" delete namespace --ignore-not-found --wait=false "$NS" "$NS-a" "$NS-b" >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT

"$KUBECTL" version >/dev/null || { echo "cluster-check.sh: no reachable control plane (KUBECONFIG)" >&2; exit 1; }
for ns in "$NS" "$NS-a" "$NS-b"; do "$KUBECTL" create namespace "$ns" >/dev/null; done

if compgen -G "$ROOT/crds/*.yaml" >/dev/null; then
  step "CRDs from crds/ apply" "$KUBECTL" apply --server-side --field-manager=keyward-chart-check -f "$ROOT/crds/"
  step "CRDs established" "$KUBECTL" wait --for=condition=Established --timeout=60s -f "$ROOT/crds/"
else
  echo "skip CRDs: crds/ not generated yet (custom objects are left out of the dry runs)"
fi

# Custom objects can be checked only when their APIs are served.
has_api() { "$KUBECTL" api-resources --api-group="$1" -o name 2>/dev/null | grep -q "^$2\."; }
extra=()
has_api monitoring.coreos.com servicemonitors || extra+=(--set metrics.serviceMonitor.enabled=false)
has_api keyward.dev clustersecretstores || extra+=(--set clusterSecretStore.create=false)

"$HELM" template "$RELEASE" "$CHART" --namespace "$NS" >"$OUT/default.yaml"
"$HELM" template "$RELEASE" "$CHART" --namespace "$NS" -f "$CHART/ci/all-options-values.yaml" \
  --set "watchNamespaces={$NS-a,$NS-b}" "${extra[@]}" >"$OUT/all-options.yaml"
step "server-side dry run (default values)" \
  "$KUBECTL" apply --server-side --dry-run=server --field-manager=keyward-chart-check -f "$OUT/default.yaml"
step "server-side dry run (all options${extra[*]:+, without: ${extra[*]}})" \
  "$KUBECTL" apply --server-side --dry-run=server --field-manager=keyward-chart-check -f "$OUT/all-options.yaml"

step "helm install" "$HELM" install "$RELEASE" "$CHART" --namespace "$NS" --skip-crds
step "helm uninstall" "$HELM" uninstall "$RELEASE" --namespace "$NS"

"$KUBECTL" kustomize "$ROOT/deploy" >"$OUT/deploy.yaml"
"$KUBECTL" kustomize "$ROOT/deploy" | awk 'BEGIN{RS="\n---\n"; ORS="\n---\n"} !/\nkind: CustomResourceDefinition\n/ && !/^kind: CustomResourceDefinition\n/' >"$OUT/deploy-no-crds.yaml"
step "kubectl apply -k deploy/" "$KUBECTL" apply --server-side --field-manager=keyward-chart-check -k "$ROOT/deploy"

echo "cluster: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
