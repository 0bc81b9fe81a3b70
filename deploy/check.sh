#!/usr/bin/env bash
# Fails when deploy/keyward.yaml differs from a fresh render of the chart (see deploy/render.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRESH="$(mktemp)"
trap 'rm -f "$FRESH"' EXIT
"$ROOT/deploy/render.sh" "$FRESH" 2>/dev/null
if ! diff -u "$ROOT/deploy/keyward.yaml" "$FRESH"; then
  echo "deploy/check.sh: deploy/keyward.yaml is stale; run deploy/render.sh" >&2
  exit 1
fi
echo "deploy/check.sh: deploy/keyward.yaml matches the chart" >&2
