#!/usr/bin/env bash
# Keyward on the embedded defaults, on one machine and without any cloud account:
#   1. the local Kubernetes control plane (tests/controlplane/up.sh: real etcd + real apiserver libraries),
#   2. the local Scaleway Secret Manager emulator on 127.0.0.1:9090 (`keyward emulator`), the
#      Thalassa Cloud Secrets Manager emulator on 127.0.0.1:9091 (`keyward emulator --provider thalassa`)
#      and the OCI Vault and KMS emulator on 127.0.0.1:9092 (`keyward emulator --provider oci`),
#   3. the CRDs from crds/, the operator (`keyward run`), and every example in examples/,
# then prints the resulting Secrets' keys (never their values) and `kubectl get ms`, and keeps the
# operator running until Ctrl-C. Logs go to $KEYWARD_DEMO_DIR (default /tmp/keyward-demo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEMO_DIR="${KEYWARD_DEMO_DIR:-/tmp/keyward-demo}"
EMULATOR_ADDR=127.0.0.1:9090
THALASSA_ADDR=127.0.0.1:9091
OCI_ADDR=127.0.0.1:9092
# The OCI emulator verifies every request's signature: the demo's API key is the test key pair in
# tests/fixtures/oci (never a real one), registered in the emulator's seed.
OCI_KEY=tests/fixtures/oci/test-key.pem
OCI_FINGERPRINT=9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93
NAMESPACE=default
mkdir -p "$DEMO_DIR"

say() { printf '\n==> %s\n' "$*"; }

say "building keyward"
cargo build --quiet --bin keyward
KEYWARD="$ROOT/target/debug/keyward"

say "starting the local control plane (the first start builds it: about 5 minutes)"
kubeconfig_line=$(tests/controlplane/up.sh | tail -n 1)
export "${kubeconfig_line?}"
echo "$kubeconfig_line"

# The emulators keep their state in DEMO_DIR; without it they start as new, empty accounts.
fresh_accounts=false
[ -e "$DEMO_DIR/emulator-state.json" ] || fresh_accounts=true

pids=()
cleanup() {
  say "stopping the operator and the emulator"
  # Newest first: the operator stops before the emulator it talks to.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "The control plane keeps running; stop it with tests/controlplane/down.sh"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

say "starting the Secret Manager emulator on $EMULATOR_ADDR"
"$KEYWARD" emulator --listen "$EMULATOR_ADDR" --state "$DEMO_DIR/emulator-state.json" \
  >"$DEMO_DIR/emulator.log" 2>&1 &
pids+=($!)
say "starting the Thalassa emulator on $THALASSA_ADDR"
"$KEYWARD" emulator --provider thalassa --listen "$THALASSA_ADDR" \
  --state "$DEMO_DIR/thalassa-state.json" >"$DEMO_DIR/thalassa.log" 2>&1 &
pids+=($!)
say "starting the OCI emulator on $OCI_ADDR"
# The tenancy, vault and key of examples/09 and 10.
python3 - "$DEMO_DIR/oci-seed.json" "$OCI_FINGERPRINT" <<'PY'
import json, sys
seed = {
    "apiKeys": [{
        "tenancy": "ocid1.tenancy.oc1..aaaaaaaakeywarddemotenancy",
        "user": "ocid1.user.oc1..aaaaaaaakeywarddemouser",
        "fingerprint": sys.argv[2],
        "publicKey": open("tests/fixtures/oci/test-key.pub.pem").read(),
    }],
    "vaults": [{"id": "ocid1.vault.oc1.eu-frankfurt-1.amaaaaaakeywarddemovault",
                "compartmentId": "ocid1.tenancy.oc1..aaaaaaaakeywarddemotenancy"}],
    "keys": [{"id": "ocid1.key.oc1.eu-frankfurt-1.amaaaaaakeywarddemokey",
              "vaultId": "ocid1.vault.oc1.eu-frankfurt-1.amaaaaaakeywarddemovault"}],
}
json.dump(seed, open(sys.argv[1], "w"))
PY
"$KEYWARD" emulator --provider oci --listen "$OCI_ADDR" --oci-seed "$DEMO_DIR/oci-seed.json" \
  --state "$DEMO_DIR/oci-state.json" >"$DEMO_DIR/oci.log" 2>&1 &
pids+=($!)
API="http://$EMULATOR_ADDR/secret-manager/v1beta1/regions/fr-par"
for _ in $(seq 50); do curl -fsS -o /dev/null 2>/dev/null -H 'X-Auth-Token: demo' "$API/secrets?project_id=11111111-2222-3333-4444-555555555555" && break; sleep 0.2; done

say "installing the CRDs"
kubectl apply --server-side --force-conflicts --field-manager=keyward-demo -f crds/ >/dev/null
kubectl wait --for condition=Established --timeout=60s -f crds/ >/dev/null

say "starting the operator (logs: $DEMO_DIR/operator.log)"
# Scoped to the demo's namespace: the control plane may hold objects of test namespaces still
# being deleted, and they are not the demo's.
# A drift key kept across runs, from a file as the chart mounts it: with a new key per start, every
# target Secret would look hand-edited after a restart.
DRIFT_KEY="$DEMO_DIR/drift-key"
[ -s "$DRIFT_KEY" ] || (umask 077 && head -c 32 /dev/urandom | base64 >"$DRIFT_KEY")
# A fixed cluster id for the same reason: the emulators' state outlives the control plane, and a
# rebuilt control plane has a new kube-system uid, which would make the secrets this demo created
# earlier another cluster's (Ready=False Conflict).
"$KEYWARD" run --leader-election=false --log-format text --metrics-address 127.0.0.1:9464 \
  --watch-namespaces "$NAMESPACE" --data-hmac-key-file "$DRIFT_KEY" --allowed-endpoints 'http://127.0.0.1:*' \
  --cluster-id keyward-demo \
  >"$DEMO_DIR/operator.log" 2>&1 &
pids+=($!)

if $fresh_accounts; then
  # ManagedSecrets of an earlier demo run name secrets those accounts no longer have (and pin
  # adopted ids, which are immutable): start over. The operator, running, releases them.
  say "new emulator accounts: removing what an earlier demo run left in namespace $NAMESPACE"
  kubectl -n "$NAMESPACE" delete managedsecrets,managedkeys --all --wait=true --timeout=120s
fi

# The adoption examples name secrets that exist in someone's account; here they are made in the
# emulator first (as a console user or Terraform would), and the examples point at their ids.
say "creating two pre-existing secrets to adopt"
# The emulator keeps its state across demo runs (as a real account would), so a secret made by an
# earlier run is found again rather than created twice (which the API refuses with 409).
first_id() { grep -o '"id":"[^"]*"' | head -n 1 | cut -d '"' -f 4; } # first "id" in a JSON body
make_secret() { # name, payload → id
  local id
  id=$(curl -fsS -H 'X-Auth-Token: demo' \
    "$API/secrets?project_id=11111111-2222-3333-4444-555555555555&name=$1&path=/legacy" |
    first_id || true)
  if [ -z "$id" ]; then
    id=$(curl -fsS -H 'X-Auth-Token: demo' -H 'Content-Type: application/json' \
      -d "{\"project_id\":\"11111111-2222-3333-4444-555555555555\",\"name\":\"$1\",\"path\":\"/legacy\"}" \
      "$API/secrets" | first_id)
    curl -fsS -o /dev/null -H 'X-Auth-Token: demo' -H 'Content-Type: application/json' \
      -d "{\"data\":\"$(printf '%s' "$2" | base64)\"}" "$API/secrets/$id/versions"
  fi
  echo "$id"
}
legacy_id=$(make_secret legacy-api-key "legacy-$RANDOM$RANDOM")
smtp_id=$(make_secret smtp-password "smtp-$RANDOM$RANDOM")

say "applying examples/"
rendered="$DEMO_DIR/examples"
rm -rf "$rendered" && mkdir -p "$rendered"
cp examples/*.yaml "$rendered/"
sed -i -E "s/secretId: .*/secretId: $legacy_id/" "$rendered/04-adopt-by-id.yaml"
sed -i -E "s#terraformId: .*#terraformId: fr-par/$smtp_id/1#" "$rendered/05-adopt-by-terraform-id.yaml"
# The OCI credentials: the demo key pair instead of the example's placeholders.
python3 - "$rendered/09-oci-store.yaml" "$OCI_KEY" "$OCI_FINGERPRINT" <<'PY'
import re, sys
path, key, fingerprint = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
text = open(path).read()
indented = "".join("    " + line + "\n" for line in key.strip().splitlines())
text = re.sub(r"  OCI_CLI_KEY_CONTENT: \|\n(    .*\n)+", "  OCI_CLI_KEY_CONTENT: |\n" + indented, text)
text = re.sub(r'OCI_CLI_FINGERPRINT: ".*"', f'OCI_CLI_FINGERPRINT: "{fingerprint}"', text)
open(path, "w").write(text)
PY
kubectl -n "$NAMESPACE" apply --server-side --field-manager=keyward-demo -f "$rendered/"

say "waiting for every ManagedSecret to be Ready"
kubectl -n "$NAMESPACE" wait --for=condition=Ready --timeout=90s managedsecrets --all || true
kubectl -n "$NAMESPACE" wait --for=condition=Ready --timeout=60s managedkeys --all || true

say "target Secrets (keys only)"
for name in $(kubectl -n "$NAMESPACE" get secrets -l app.kubernetes.io/managed-by=keyward -o name); do
  keys=$(kubectl -n "$NAMESPACE" get "$name" -o go-template='{{range $k, $v := .data}}{{$k}} {{end}}')
  printf '%-40s %s\n' "$name" "$keys"
done

say "kubectl get ms"
kubectl -n "$NAMESPACE" get ms

say "kubectl get mkey"
kubectl -n "$NAMESPACE" get mkey

say "Keyward is running. Try: kubectl annotate ms app-password keyward.dev/rotate=\$(date +%s) --overwrite"
echo "Press Ctrl-C to stop."
# `wait` on a background sleep lets the INT/TERM trap run at once (a foreground sleep would delay it).
while true; do sleep 3600 & wait $!; done
