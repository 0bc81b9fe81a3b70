"""Drives the official OCI Python SDK (PyPI `oci`) against Keyward's OCI emulator and checks each answer.

oci.vault.VaultsClient, oci.secrets.SecretsClient and oci.key_management.KmsManagementClient all take
service_endpoint=http://127.0.0.1:PORT and sign with an API key registered in the emulator. Every
operation of the reference runs: paging through the SDK's pagination helpers, stage transitions,
deletion scheduling, key versions, 409 IncorrectState during a write window (and the SDK's retry
strategy getting past it, also on the scheduling calls), 429 on an API key's request budget, on the
tenancy's Vault write budget and on its KMS management write budget (surfaced without retries, got
past with the retry strategy), paging by hand through opc-next-page, what Keyward's client relies on
(freeform tags, version names unique per secret, listing by name and lifecycle state), retry tokens,
and 401 for a wrong key, an unknown key and a skewed clock.

Prints one `method: N call(s)` line per SDK method used, then `all N SDK methods exercised`. Exits
non-zero on the first failed check (tests/providers/oci_sdk.rs runs it).
"""

import argparse
import base64
import collections
import datetime
import email.utils
import json
import sys
import time
import urllib.request
import uuid

import oci
from oci.exceptions import ServiceError

CALLS = collections.Counter()


class Counted:
    """Counts the calls of a client's methods by name (pagination helpers call through it too)."""

    def __init__(self, client, prefix):
        self._client = client
        self._prefix = prefix

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def wrapper(*args, **kwargs):
            CALLS[f"{self._prefix}.{name}"] += 1
            return attr(*args, **kwargs)

        return wrapper


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def fails(status, code, fn, *args, **kwargs):
    """Calls fn, which must fail with this HTTP status and OCI code; returns the error."""
    try:
        fn(*args, **kwargs)
    except ServiceError as e:
        check(e.status == status and e.code == code,
              f"expected {status} {code}, got {e.status} {e.code}: {e.message}")
        return e
    raise AssertionError(f"expected {status} {code}, the call succeeded")


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(text):
    return base64.b64decode(text).decode()


class Emulator:
    """The emulator's admin API (/emulator/...): plain JSON, no signature."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
            return json.loads(text) if text else None

    def settings(self, **changes):
        s = self.call("GET", "/emulator/oci/settings")
        for k, v in changes.items():
            if k in s["limits"]:
                s["limits"][k] = v
            else:
                s[k] = v
        return self.call("PUT", "/emulator/oci/settings", s)

    def key_state(self, key_id, state):
        return self.call("PUT", f"/emulator/oci/keys/{key_id}/state", {"lifecycleState": state})

    def advance_clock(self, seconds):
        self.call("POST", "/emulator/clock", {"advance_seconds": seconds})

    def counts(self):
        return self.call("GET", "/emulator/metrics")

    def faults(self, **changes):
        f = self.call("GET", "/emulator/faults")
        f.update(changes)
        return self.call("PUT", "/emulator/faults", f)


def clients(args, key_file):
    config = {
        "tenancy": args.tenancy,
        "user": args.user,
        "fingerprint": args.fingerprint,
        "key_file": key_file,
        "region": args.region,
    }
    oci.config.validate_config(config)
    # The deliberate 409s and 429s below would open the SDK's shared default circuit breaker (10
    # failures in 30 s) and fail unrelated later calls; the breaker is client-side only.
    common = dict(service_endpoint=args.endpoint,
                  circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy())
    return (
        Counted(oci.vault.VaultsClient(config, **common), "vaults"),
        Counted(oci.secrets.SecretsClient(config, **common), "secrets"),
        Counted(oci.key_management.KmsManagementClient(config, **common), "kms"),
    )


def content(text, stage=None, name=None):
    return oci.vault.models.Base64SecretContentDetails(
        content_type="BASE64", content=b64(text), stage=stage, name=name)


def main():
    p = argparse.ArgumentParser()
    for flag in ["endpoint", "tenancy", "user", "fingerprint", "key-file", "wrong-key-file",
                 "vault-id", "key-id", "other-key-id", "region"]:
        p.add_argument("--" + flag, required=True)
    args = p.parse_args()
    emu = Emulator(args.endpoint)
    vaults, secrets, kms = clients(args, args.key_file)
    compartment = args.tenancy
    never = oci.retry.NoneRetryStrategy()
    retrying = oci.retry.DEFAULT_RETRY_STRATEGY
    now = lambda: datetime.datetime.now(datetime.timezone.utc)

    def create(name, text="v1", retry_strategy=None, **kwargs):
        details = oci.vault.models.CreateSecretDetails(
            compartment_id=compartment, vault_id=args.vault_id, key_id=args.key_id,
            secret_name=name, secret_content=content(text), **kwargs)
        extra = {} if retry_strategy is None else {"retry_strategy": retry_strategy}
        return vaults.create_secret(details, **extra).data

    # --- the write window: CREATING, a second write gets 409, waiting makes it ACTIVE ---
    emu.settings(updatingWindowMs=800)
    s = create("window")
    check(s.lifecycle_state == "CREATING", s.lifecycle_state)
    check(s.current_version_number == 1, s)
    err = fails(409, "IncorrectState", vaults.update_secret, s.id,
                oci.vault.models.UpdateSecretDetails(secret_content=content("v2")))
    check("CREATING" in err.message, err.message)
    got = oci.wait_until(vaults, vaults.get_secret(s.id), "lifecycle_state", "ACTIVE",
                         max_interval_seconds=1, max_wait_seconds=10).data
    check(got.lifecycle_state == "ACTIVE", got.lifecycle_state)
    up = vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(secret_content=content("v2")))
    check(up.data.lifecycle_state == "UPDATING" and up.data.current_version_number == 2, up.data)
    # The SDK's default retry strategy covers 409 IncorrectState: it waits the window out.
    up = vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(secret_content=content("v3")),
                              retry_strategy=retrying)
    check(up.data.current_version_number == 3, up.data)
    emu.settings(updatingWindowMs=0)

    # --- stages: PENDING upload, promotion, PREVIOUS, DEPRECATED, LATEST ---
    s = create("stages", text="one")
    vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(
        secret_content=content("two", stage="PENDING", name="second")))
    b = secrets.get_secret_bundle(s.id, stage="PENDING").data
    check(b.version_number == 2 and unb64(b.secret_bundle_content.content) == "two", b)
    check(sorted(b.stages) == ["LATEST", "PENDING"], b.stages)
    check(secrets.get_secret_bundle(s.id).data.version_number == 1, "CURRENT is still 1")
    etag = vaults.get_secret(s.id).headers["etag"]
    fails(412, "NoEtagMatch", vaults.update_secret, s.id,
          oci.vault.models.UpdateSecretDetails(current_version_number=2), if_match='"stale"')
    promoted = vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(current_version_number=2),
                                    if_match=etag).data
    check(promoted.current_version_number == 2, promoted)
    vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(secret_content=content("three")))
    stages = {v.version_number: sorted(v.stages) for v in oci.pagination.list_call_get_all_results(
        vaults.list_secret_versions, s.id, limit=2).data}
    check(stages == {1: ["DEPRECATED"], 2: ["PREVIOUS"], 3: ["CURRENT", "LATEST"]}, stages)
    v2 = vaults.get_secret_version(s.id, 2).data
    check(v2.name == "second" and v2.stages == ["PREVIOUS"] and v2.content_type == "BASE64", v2)
    for stage, number in [("CURRENT", 3), ("PREVIOUS", 2), ("LATEST", 3), ("DEPRECATED", 1)]:
        got = secrets.get_secret_bundle(s.id, stage=stage).data
        check(got.version_number == number, f"{stage}: {got.version_number}")
    check(unb64(secrets.get_secret_bundle(s.id, version_number=1).data.secret_bundle_content.content)
          == "one", "by number")
    check(secrets.get_secret_bundle(s.id, secret_version_name="second").data.version_number == 2,
          "by version name")
    by_name = secrets.get_secret_bundle_by_name("stages", args.vault_id, stage="PREVIOUS").data
    check(by_name.secret_id == s.id and by_name.version_number == 2, by_name)
    check(secrets.get_secret_bundle_by_name("stages", args.vault_id).data.version_number == 3, "default")
    fails(404, "NotAuthorizedOrNotFound", secrets.get_secret_bundle, s.id, stage="PENDING")
    bundles = oci.pagination.list_call_get_all_results(
        secrets.list_secret_bundle_versions, s.id, limit=2).data
    check(sorted(v.version_number for v in bundles) == [1, 2, 3], bundles)
    fails(400, "InvalidParameter", vaults.update_secret, s.id,
          oci.vault.models.UpdateSecretDetails(secret_content=content("x"), current_version_number=1))

    # --- version deletion: only DEPRECATED versions, then cancel ---
    fails(409, "IncorrectState", vaults.schedule_secret_version_deletion, s.id, 3,
          oci.vault.models.ScheduleSecretVersionDeletionDetails())
    when = now() + datetime.timedelta(days=2)
    vaults.schedule_secret_version_deletion(
        s.id, 1, oci.vault.models.ScheduleSecretVersionDeletionDetails(time_of_deletion=when))
    v1 = vaults.get_secret_version(s.id, 1).data
    check(v1.time_of_deletion is not None and abs((v1.time_of_deletion - when).total_seconds()) < 1, v1)
    fails(404, "NotAuthorizedOrNotFound", secrets.get_secret_bundle, s.id, version_number=1)
    vaults.cancel_secret_version_deletion(s.id, 1)
    check(vaults.get_secret_version(s.id, 1).data.time_of_deletion is None, "cancelled")

    # --- secret deletion: PENDING_DELETION keeps the name reserved and reads answer 404 ---
    vaults.schedule_secret_deletion(s.id, oci.vault.models.ScheduleSecretDeletionDetails(
        time_of_deletion=now() + datetime.timedelta(days=7)))
    got = vaults.get_secret(s.id).data
    check(got.lifecycle_state == "PENDING_DELETION" and got.time_of_deletion is not None, got)
    fails(404, "NotAuthorizedOrNotFound", secrets.get_secret_bundle_by_name, "stages", args.vault_id)
    err = fails(400, "InvalidParameter", create, "stages")
    check("already exists" in err.message and "pending deletion" in err.message, err.message)
    vaults.cancel_secret_deletion(s.id)
    check(vaults.get_secret(s.id).data.lifecycle_state == "ACTIVE", "restored")
    check(secrets.get_secret_bundle_by_name("stages", args.vault_id).data.version_number == 3, "readable")

    # --- listing with the SDK's pagination helpers, filters and sorting ---
    prefix = "page-" + uuid.uuid4().hex[:6]
    for i in range(5):
        create(f"{prefix}-{i}")
    listed = oci.pagination.list_call_get_all_results(
        vaults.list_secrets, compartment, vault_id=args.vault_id, limit=2,
        sort_by="NAME", sort_order="ASC").data
    names = [x.secret_name for x in listed if x.secret_name.startswith(prefix)]
    check(names == [f"{prefix}-{i}" for i in range(5)], names)
    first_two = oci.pagination.list_call_get_up_to_limit(
        vaults.list_secrets, 2, 1, compartment, vault_id=args.vault_id).data
    check(len(first_two) == 2, first_two)
    one = vaults.list_secrets(compartment, name=f"{prefix}-3").data
    check(len(one) == 1 and one[0].secret_name == f"{prefix}-3", one)
    active = oci.pagination.list_call_get_all_results(
        vaults.list_secrets, compartment, lifecycle_state="ACTIVE").data
    active_names = {x.secret_name for x in active}
    check({"stages", *names} <= active_names and all(x.lifecycle_state == "ACTIVE" for x in active),
          active_names)

    # --- retry tokens: same token and body, same secret; other body, 409 ---
    token = uuid.uuid4().hex
    details = oci.vault.models.CreateSecretDetails(
        compartment_id=compartment, vault_id=args.vault_id, key_id=args.key_id,
        secret_name="idempotent", secret_content=content("x"))
    a = vaults.create_secret(details, opc_retry_token=token).data
    b = vaults.create_secret(details, opc_retry_token=token).data
    check(a.id == b.id, (a.id, b.id))
    check(len(vaults.list_secrets(compartment, name="idempotent").data) == 1, "one secret")
    details.secret_content = content("y")
    fails(409, "InvalidatedRetryToken", vaults.create_secret, details, opc_retry_token=token)

    # --- what Keyward's client relies on: freeform tags and description round trip and update,
    # version names unique within a secret, listing by name and by lifecycle state ---
    tagged = create("tagged", freeform_tags={"keyward-path": "/team", "keyward-owner": "ns/db"},
                    description="made by keyward")
    got = vaults.get_secret(tagged.id).data
    check(got.freeform_tags == {"keyward-path": "/team", "keyward-owner": "ns/db"}
          and got.description == "made by keyward", got)
    up = vaults.update_secret(tagged.id, oci.vault.models.UpdateSecretDetails(
        description="", freeform_tags={**got.freeform_tags, "keyward-cluster": "c1"})).data
    check(up.freeform_tags.get("keyward-cluster") == "c1" and up.current_version_number == 1, up)
    vaults.update_secret(tagged.id, oci.vault.models.UpdateSecretDetails(
        secret_content=content("two", name="keyward_3atoken-1")))
    err = fails(400, "InvalidParameter", vaults.update_secret, tagged.id,
                oci.vault.models.UpdateSecretDetails(secret_content=content("again", name="keyward_3atoken-1")))
    check("already exists" in err.message, err.message)
    check(secrets.get_secret_bundle(tagged.id, secret_version_name="keyward_3atoken-1").data.version_number == 2,
          "by version name")
    vaults.schedule_secret_deletion(tagged.id, oci.vault.models.ScheduleSecretDeletionDetails())
    pending = vaults.list_secrets(compartment, vault_id=args.vault_id, name="tagged",
                                  lifecycle_state="PENDING_DELETION").data
    check([x.id for x in pending] == [tagged.id], pending)
    check(vaults.list_secrets(compartment, vault_id=args.vault_id, name="tagged",
                              lifecycle_state="ACTIVE").data == [], "not ACTIVE")

    # --- paging by hand: opc-next-page, then page=, until there is none ---
    seen, page, pages = [], None, 0
    while True:
        resp = vaults.list_secret_versions(s.id, limit=1, page=page) if page else \
            vaults.list_secret_versions(s.id, limit=1)
        pages += 1
        seen += [v.version_number for v in resp.data]
        check(resp.has_next_page == (resp.next_page is not None)
              and resp.headers.get("opc-next-page") == resp.next_page, resp.headers)
        if not resp.has_next_page:
            break
        page = resp.next_page
    check(seen == [3, 2, 1] and pages == 3, (seen, pages))
    fails(400, "InvalidParameter", vaults.list_secrets, compartment, page="not-a-token")

    # --- 409 IncorrectState on the scheduling calls during a write window: surfaced without a
    # retry strategy, waited out with one ---
    emu.settings(updatingWindowMs=800)
    busy = create("busy")
    vaults.update_secret(busy.id, oci.vault.models.UpdateSecretDetails(secret_content=content("2")),
                         retry_strategy=retrying)
    vaults.update_secret(busy.id, oci.vault.models.UpdateSecretDetails(secret_content=content("3")),
                         retry_strategy=retrying)
    err = fails(409, "IncorrectState", vaults.schedule_secret_version_deletion, busy.id, 1,
                oci.vault.models.ScheduleSecretVersionDeletionDetails(), retry_strategy=never)
    check("UPDATING" in err.message, err.message)
    vaults.schedule_secret_version_deletion(busy.id, 1, oci.vault.models.ScheduleSecretVersionDeletionDetails(),
                                            retry_strategy=retrying)
    check(vaults.get_secret_version(busy.id, 1).data.time_of_deletion is not None, "scheduled")
    emu.settings(updatingWindowMs=0)

    # --- 429 TooManyRequests on the API key's request budget (reads) and on the tenancy's Vault
    # write budget: surfaced as the SDK's ServiceError without retries, got past with them ---
    emu.faults(rate_limit_per_second=2)
    limited = 0
    for _ in range(8):
        try:
            vaults.get_secret(busy.id, retry_strategy=never)
        except ServiceError as e:
            check(e.status == 429 and e.code == "TooManyRequests", f"{e.status} {e.code}")
            check(e.headers.get("retry-after") is not None, e.headers)
            limited += 1
    check(limited >= 4, f"{limited} of 8 reads refused at 2/s")
    for _ in range(5):
        got = secrets.get_secret_bundle(busy.id, retry_strategy=retrying).data
        check(got.version_number == 3, got)
    emu.faults(rate_limit_per_second=None)
    emu.settings(secretWritesPerSecond=1)
    refused = 0
    for i in range(4):
        try:
            vaults.update_secret(busy.id, oci.vault.models.UpdateSecretDetails(secret_content=content(f"w{i}")),
                                 retry_strategy=never)
        except ServiceError as e:
            check(e.status == 429 and e.code == "TooManyRequests", f"{e.status} {e.code}")
            refused += 1
    check(refused >= 2, f"{refused} of 4 writes refused at 1/s")
    for i in range(3):
        create(f"budget-{i}", retry_strategy=retrying)
    emu.settings(secretWritesPerSecond=None)

    # --- limits: 30 versions in use; the 31st is refused ---
    s = create("limits")
    for i in range(2, 31):
        vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(secret_content=content(f"v{i}")))
    err = fails(400, "LimitExceeded", vaults.update_secret, s.id,
                oci.vault.models.UpdateSecretDetails(secret_content=content("v31")))
    check("30" in err.message, err.message)
    vaults.schedule_secret_version_deletion(s.id, 1, oci.vault.models.ScheduleSecretVersionDeletionDetails())
    vaults.update_secret(s.id, oci.vault.models.UpdateSecretDetails(secret_content=content("v31")))

    # --- KMS: keys and key versions ---
    key = kms.get_key(args.key_id).data
    check(key.lifecycle_state == "ENABLED" and key.vault_id == args.vault_id, key)
    first_version = key.current_key_version
    new = kms.create_key_version(args.key_id).data
    check(new.lifecycle_state == "ENABLED" and new.key_id == args.key_id and new.origin == "INTERNAL", new)
    check(kms.get_key(args.key_id).data.current_key_version == new.id, "rotated")
    for _ in range(2):
        kms.create_key_version(args.key_id)
    versions = oci.pagination.list_call_get_all_results(kms.list_key_versions, args.key_id, limit=2).data
    check(len(versions) == 4 and versions[0].time_created >= versions[-1].time_created, versions)
    got = kms.get_key_version(args.key_id, first_version).data
    check(got.id == first_version and got.lifecycle_state == "ENABLED", got)
    fails(409, "IncorrectState", kms.schedule_key_version_deletion, args.key_id,
          kms.get_key(args.key_id).data.current_key_version,
          oci.key_management.models.ScheduleKeyVersionDeletionDetails())
    fails(400, "InvalidParameter", kms.schedule_key_version_deletion, args.key_id, first_version,
          oci.key_management.models.ScheduleKeyVersionDeletionDetails(
              time_of_deletion=now() + datetime.timedelta(days=3)))
    scheduled = kms.schedule_key_version_deletion(
        args.key_id, first_version, oci.key_management.models.ScheduleKeyVersionDeletionDetails(
            time_of_deletion=now() + datetime.timedelta(days=8))).data
    check(scheduled.lifecycle_state == "PENDING_DELETION" and scheduled.time_of_deletion is not None, scheduled)
    restored = kms.cancel_key_version_deletion(args.key_id, first_version).data
    check(restored.lifecycle_state == "ENABLED", restored)
    # A disabled key: no rotation, no new secret versions.
    emu.key_state(args.other_key_id, "DISABLED")
    err = fails(409, "IncorrectState", kms.create_key_version, args.other_key_id)
    check("DISABLED" in err.message, err.message)
    details = oci.vault.models.CreateSecretDetails(
        compartment_id=compartment, vault_id=args.vault_id, key_id=args.other_key_id,
        secret_name="disabled-key", secret_content=content("x"))
    fails(400, "InvalidParameter", vaults.create_secret, details, retry_strategy=never)
    emu.key_state(args.other_key_id, "ENABLED")
    kms.create_key_version(args.other_key_id)

    # --- 429: the tenancy's management write budget; the SDK's retry strategy gets past it ---
    emu.settings(managementWritesPerSecond=2)
    refused = 0
    for _ in range(6):
        try:
            kms.create_key_version(args.key_id)
        except ServiceError as e:
            check(e.status == 429 and e.code == "TooManyRequests", f"{e.status} {e.code}")
            refused += 1
    check(refused >= 3, f"{refused} of 6 writes refused at 2/s")
    for _ in range(4):
        kms.create_key_version(args.key_id, retry_strategy=retrying)
    emu.settings(managementWritesPerSecond=10)

    # --- 401: a wrong key, an unknown key id, a skewed clock ---
    wrong, wrong_secrets, _ = clients(args, args.wrong_key_file)
    err = fails(401, "NotAuthenticated", wrong.get_secret, a.id, retry_strategy=never)
    check("signature" in err.message, err.message)
    fails(401, "NotAuthenticated", wrong_secrets.get_secret_bundle, a.id, retry_strategy=never)
    unknown_args = argparse.Namespace(**{**vars(args), "fingerprint": "00:" * 15 + "00"})
    unknown, _, _ = clients(unknown_args, args.key_file)
    fails(401, "NotAuthenticated", unknown.get_secret, a.id, retry_strategy=never)
    # The signer stamps `date` with email.utils.formatdate: six minutes ahead is past the skew limit.
    formatdate = email.utils.formatdate
    email.utils.formatdate = lambda *a, **kw: formatdate(time.time() + 6 * 60, usegmt=True)
    try:
        err = fails(401, "NotAuthenticated", vaults.get_secret, a.id, retry_strategy=never)
        check("5 minutes" in err.message, err.message)
    finally:
        email.utils.formatdate = formatdate
    # Moving the emulator's clock past the 30 days makes the scheduled version deletion happen, and
    # does not break signatures (they are held to the wall clock).
    emu.advance_clock(31 * 24 * 3600)
    try:
        fails(404, "NotAuthorizedOrNotFound", vaults.get_secret_version, s.id, 1)
        check(len(oci.pagination.list_call_get_all_results(vaults.list_secret_versions, s.id).data) == 30,
              "30 versions left")
    finally:
        emu.advance_clock(-31 * 24 * 3600)
    check(vaults.get_secret(a.id).data.id == a.id, "the right key still works")

    for name in sorted(CALLS):
        print(f"{name}: {CALLS[name]} call(s)")
    print(f"all {len(CALLS)} SDK methods exercised")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        raise
