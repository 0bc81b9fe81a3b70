#!/usr/bin/env bash
# Checks of the Helm chart and the plain manifests; installs what it needs (helm, checkov) itself.
#   1. helm lint --strict with the default values and with every option on (keyward/ci/all-options-values.yaml)
#   2. helm template with both (and the rendered objects must parse as YAML documents with a kind)
#   3. charts/keyward/crds/ equals crds/ (charts/crds.sh check)
#   4. deploy/keyward.yaml equals a fresh rendering (deploy/check.sh), and `kubectl kustomize deploy/` builds
#   5. checkov on both renderings, with the skips explained in charts/.checkov.yaml
#   6. the Grafana dashboard and the PrometheusRule (all options): the dashboard is valid JSON with
#      a query in every panel, and promtool checks the rules (`cargo test --test offline
#      dashboard_metrics` checks that every metric they use is one the operator serves)
# Prints one summary line per step and "N passed, N failed" at the end; exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/charts/keyward"
ALL_OPTIONS="$CHART/ci/all-options-values.yaml"
HELM="$("$ROOT/charts/install-helm.sh")" || { echo "check.sh: cannot install helm" >&2; exit 1; }
CHECKOV="$("$ROOT/charts/install-checkov.sh")" || { echo "check.sh: cannot install checkov" >&2; exit 1; }
PROMTOOL="$("$ROOT/charts/install-promtool.sh")" || { echo "check.sh: cannot install promtool" >&2; exit 1; }
# checkov's virtual environment brings PyYAML, used to parse the renderings.
PYTHON="$(dirname "$CHECKOV")/python"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

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

render() { # name, extra helm args...
  local name="$1"
  shift
  "$HELM" template keyward "$CHART" --namespace keyward-system "$@" >"$OUT/rendered/$name.yaml" &&
    "$PYTHON" - "$OUT/rendered/$name.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert docs, "nothing rendered"
for d in docs:
    assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), d
print(f"{len(docs)} objects: " + ", ".join(sorted(d["kind"] for d in docs)))
PY
}

mkdir -p "$OUT/rendered"
step "helm lint --strict (default values)" "$HELM" lint --strict "$CHART"
step "helm lint --strict (all options)" "$HELM" lint --strict "$CHART" -f "$ALL_OPTIONS"
step "helm template (default values)" render default
step "helm template (all options)" render all-options -f "$ALL_OPTIONS"
monitoring() { # the rendering with every option: dashboard JSON, then the rules through promtool
  "$PYTHON" - "$OUT/rendered/all-options.yaml" "$OUT/rules.yaml" <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
assert len(maps) == 1, "one dashboard ConfigMap"
dashboard = json.loads(maps[0]["data"]["keyward.json"])
panels = [p for p in dashboard["panels"] if p["type"] != "row"]
assert panels and all(t["expr"] for p in panels for t in p["targets"]), "a query in every panel"
rules = [d for d in docs if d["kind"] == "PrometheusRule"]
assert len(rules) == 1, "one PrometheusRule"
yaml.safe_dump({"groups": rules[0]["spec"]["groups"]}, open(sys.argv[2], "w"))
print(f"dashboard: {len(panels)} panels; rules: {sum(len(g['rules']) for g in rules[0]['spec']['groups'])}")
PY
  "$PROMTOOL" check rules "$OUT/rules.yaml"
}
step "dashboard and PrometheusRule (JSON, promtool check rules)" monitoring
step "values schema rejects an unknown value" bash -c "! '$HELM' template keyward '$CHART' --set notAValue=1"
step "CRD copies equal crds/" "$ROOT/charts/crds.sh" check
step "deploy/ matches the chart" "$ROOT/deploy/check.sh"
step "kustomize builds deploy/" bash -c "'$(dirname "$HELM")/kubectl' kustomize '$ROOT/deploy' >/dev/null"
step "checkov (default values and all options)" "$CHECKOV" --config-file "$ROOT/charts/.checkov.yaml" -d "$OUT/rendered"
grep -E '^(Passed|Failed) checks' "$OUT/log" 2>/dev/null | sed 's/^/     /'
# The same checkov settings must catch a weakened pod (so the step above can fail).
mkdir -p "$OUT/weakened"
"$HELM" template keyward "$CHART" --namespace keyward-system \
  --set securityContext.readOnlyRootFilesystem=false --set securityContext.allowPrivilegeEscalation=true \
  >"$OUT/weakened/weakened.yaml"
step "checkov rejects a weakened security context" bash -c "! '$CHECKOV' --config-file '$ROOT/charts/.checkov.yaml' -d '$OUT/weakened'"

echo "charts: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
