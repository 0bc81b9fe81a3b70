"""Drives the official Scaleway Python SDK (PyPI `scaleway`) against the keyward emulator.

Every public method of `scaleway.secret.v1beta1.SecretV1Beta1API` is called at least once, and the
run fails if one is not (the list is read from the class, so a method added by a new SDK version
cannot slip through). Each answer is checked: ids, payloads and settings round-trip, and error cases
raise the SDK's exception with the expected status. One line per method on stdout at the end.

Usage: python scaleway_sdk.py --api-url http://127.0.0.1:PORT --project-id UUID --secret-key KEY
Exit status 0 when everything held; otherwise the first failure is printed on stderr.
Run by tests/providers/scaleway_sdk.rs; the SDK comes from tests/tools/install-scaleway-sdk.sh.
"""

import argparse
import base64
import collections
import dataclasses
import datetime
import importlib.metadata
import sys
import uuid
import zlib

from scaleway import Client
from scaleway_core.api import ScalewayException
from scaleway.secret.v1beta1 import api as api_module, marshalling, types
from scaleway.secret.v1beta1 import (
    EphemeralPolicy,
    EphemeralPolicyAction,
    EphemeralProperties,
    ListSecretsRequestOrderBy,
    Product,
    SecretType,
    SecretV1Beta1API,
    SecretVersionStatus,
)

REGION = "fr-par"


def api_methods():
    """The public methods the SDK's Secret Manager API class defines."""
    return sorted(
        name
        for name, value in vars(SecretV1Beta1API).items()
        if callable(value) and not name.startswith("_")
    )


# One-of groups: an answer carries the member that is set, not the others.
ONE_OF = {"BrowseSecretsResponseItem": {"secret", "folder"}}


def require_every_field():
    """Makes each of the SDK's `unmarshal_X` check that the answer carries every field of `X`.

    The SDK itself fills in absent fields with defaults, which would hide a field the emulator
    forgot; the real API writes every field, `null` when unset (the cassettes show it).
    """
    for function in [n for n in vars(marshalling) if n.startswith("unmarshal_")]:
        type_name = function.removeprefix("unmarshal_")
        cls = getattr(types, type_name, None)
        if not dataclasses.is_dataclass(cls):
            continue
        # `type_` is `type` on the wire.
        wire = {f.name.rstrip("_") for f in dataclasses.fields(cls)} - ONE_OF.get(type_name, set())
        original = getattr(marshalling, function)

        def checked(data, _original=original, _wire=wire, _type=type_name):
            if isinstance(data, dict):
                missing = sorted(_wire - data.keys())
                check(not missing, f"{_type}: the answer has no {', '.join(missing)}")
            return _original(data)

        setattr(marshalling, function, checked)
        if hasattr(api_module, function):
            setattr(api_module, function, checked)


class Recorder:
    """Wraps the API and counts the calls per method (failed ones included)."""

    def __init__(self, api):
        self._api = api
        self.calls = collections.Counter()

    def __getattr__(self, name):
        method = getattr(self._api, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            self.calls[name] += 1
            return method(*args, **kwargs)

        return call


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def raises(status, call, what):
    """Runs `call`, which must fail with the SDK's exception carrying `status`."""
    try:
        call()
    except ScalewayException as e:
        check(
            e.status_code == status,
            f"{what}: expected HTTP {status}, got {e.status_code}: {e}",
        )
        return e
    raise AssertionError(f"{what}: expected HTTP {status}, the call succeeded")


def b64(data):
    return base64.b64encode(data).decode()


def ids(items):
    return sorted(item.id for item in items)


def exercise(api, project_id):
    # Names, paths and the shared tag are unique to this run, so an emulator that already holds
    # secrets (another run's) changes no answer checked here.
    run = uuid.uuid4().hex[:8]
    name = lambda base: f"sdk-{base}-{run}"
    root, tag = f"/sdk-{run}", f"sdk-{run}"

    # ---- secrets --------------------------------------------------------------------------------
    alpha = api.create_secret(
        name=name("alpha"),
        protected=False,
        tags=[tag, "alpha"],
        description="first",
        path=root,
    )
    check(alpha.project_id == project_id, "create_secret: project from the client's default")
    check(alpha.region == REGION, f"create_secret: region {alpha.region}")
    check(
        alpha.type_ == SecretType.OPAQUE,
        f"create_secret: unknown_type becomes opaque, got {alpha.type_}",
    )
    check(alpha.path == root and alpha.version_count == 0, "create_secret: path and count")
    policy = EphemeralPolicy(
        action=EphemeralPolicyAction.DISABLE,
        time_to_live="3600s",
        expires_once_accessed=False,
    )
    beta = api.create_secret(
        name=name("beta"),
        protected=False,
        tags=[tag],
        type_=SecretType.KEY_VALUE,
        path=f"{root}/nested",
        ephemeral_policy=policy,
    )
    check(beta.type_ == SecretType.KEY_VALUE, "create_secret: type")
    check(
        beta.ephemeral_policy is not None
        and beta.ephemeral_policy.time_to_live == "3600s"
        and beta.ephemeral_policy.action == EphemeralPolicyAction.DISABLE,
        f"create_secret: ephemeral policy echoed, got {beta.ephemeral_policy}",
    )
    gamma = api.create_secret(name=name("gamma"), protected=False, path=root)

    got = api.get_secret(secret_id=alpha.id)
    check(
        (got.id, got.name, got.tags, got.description)
        == (alpha.id, alpha.name, [tag, "alpha"], "first"),
        f"get_secret: round trip, got {got}",
    )
    updated = api.update_secret(
        secret_id=alpha.id, description="updated", tags=[tag, "alpha", "more"]
    )
    check(updated.description == "updated" and "more" in updated.tags, "update_secret: fields")
    check(api.get_secret(secret_id=alpha.id).description == "updated", "update_secret: stored")

    # ---- listings and filters (booleans go out as True/False) ------------------------------------
    live = api.list_secrets(
        scheduled_for_deletion=False, path=root, order_by=ListSecretsRequestOrderBy.NAME_ASC
    )
    check(
        ids(live.secrets) == sorted([alpha.id, gamma.id]),
        f"list_secrets: path filter, got {ids(live.secrets)}",
    )
    check(live.total_count == 2, f"list_secrets: total_count {live.total_count}")
    check(
        [s.name for s in live.secrets] == sorted([alpha.name, gamma.name]),
        "list_secrets: name order",
    )
    ephemeral = api.list_secrets(scheduled_for_deletion=False, ephemeral=True, tags=[tag])
    check(
        ids(ephemeral.secrets) == [beta.id],
        f"list_secrets: ephemeral=True, got {ids(ephemeral.secrets)}",
    )
    not_ephemeral = api.list_secrets(scheduled_for_deletion=False, ephemeral=False, tags=[tag])
    check(ids(not_ephemeral.secrets) == [alpha.id], "list_secrets: ephemeral=False with tags")
    by_name = api.list_secrets(
        scheduled_for_deletion=False, name=beta.name, type_=SecretType.KEY_VALUE
    )
    check(ids(by_name.secrets) == [beta.id], "list_secrets: name and type filters")
    every = api.list_secrets_all(scheduled_for_deletion=False, page_size=1)
    check(
        set([alpha.id, beta.id, gamma.id]) <= set(s.id for s in every),
        "list_secrets_all: pages of one reach every secret",
    )
    check(len(every) == len(set(s.id for s in every)), "list_secrets_all: no secret twice")

    browsed = api.browse_secrets(prefix=root)
    check(browsed.current_path == root, f"browse_secrets: current_path {browsed.current_path}")
    secrets_here = sorted(i.secret.id for i in browsed.items if i.secret is not None)
    folders_here = [i.name for i in browsed.items if i.folder is not None]
    check(secrets_here == sorted([alpha.id, gamma.id]), f"browse_secrets: secrets {secrets_here}")
    check(folders_here == ["nested"], f"browse_secrets: folders {folders_here}")
    nested = api.browse_secrets(prefix=f"{root}/nested", type_=SecretType.KEY_VALUE)
    check(
        [i.secret.id for i in nested.items if i.secret] == [beta.id],
        "browse_secrets: nested folder",
    )

    # ---- protection, owners ---------------------------------------------------------------------
    check(api.protect_secret(secret_id=alpha.id).protected, "protect_secret: protected")
    raises(
        412, lambda: api.delete_secret(secret_id=alpha.id), "delete_secret of a protected secret"
    )
    check(not api.unprotect_secret(secret_id=alpha.id).protected, "unprotect_secret")
    check(
        api.add_secret_owner(secret_id=alpha.id, product=Product.EDGE_SERVICES) is None,
        "add_secret_owner",
    )
    check(
        api.get_secret(secret_id=alpha.id).used_by == [Product.EDGE_SERVICES],
        "add_secret_owner: used_by",
    )

    # ---- versions -------------------------------------------------------------------------------
    one, two = b"first payload", b"\x00\xffsecond payload"
    v1 = api.create_secret_version(
        secret_id=alpha.id, data=b64(one), description="v1", data_crc32=zlib.crc32(one)
    )
    check(
        (v1.revision, v1.secret_id, v1.latest) == (1, alpha.id, True),
        f"create_secret_version: {v1}",
    )
    v2 = api.create_secret_version(secret_id=alpha.id, data=b64(two), disable_previous=True)
    check(
        v2.revision == 2 and v2.status == SecretVersionStatus.ENABLED,
        "create_secret_version: second",
    )
    check(
        api.get_secret_version(secret_id=alpha.id, revision="1").status
        == SecretVersionStatus.DISABLED,
        "create_secret_version: disable_previous disabled revision 1",
    )
    latest = api.get_secret_version(secret_id=alpha.id, revision="latest")
    check(latest.revision == 2 and latest.latest, "get_secret_version: latest")
    raises(
        400,
        lambda: api.create_secret_version(
            secret_id=alpha.id, data=b64(one), data_crc32=zlib.crc32(one) ^ 1
        ),
        "create_secret_version with a wrong CRC32",
    )
    raises(
        400,
        lambda: api.create_secret_version(secret_id=beta.id, data=b64(b'{"nested": {}}')),
        "create_secret_version of a key_value secret with a nested object",
    )

    accessed = api.access_secret_version(secret_id=alpha.id, revision="latest")
    check(base64.b64decode(accessed.data) == two, "access_secret_version: payload round trip")
    check((accessed.secret_id, accessed.revision) == (alpha.id, 2), "access_secret_version: ids")
    first = api.access_secret_version(secret_id=alpha.id, revision="latest_enabled")
    check(first.revision == 2, "access_secret_version: latest_enabled")
    raises(
        412,
        lambda: api.access_secret_version(secret_id=alpha.id, revision="1"),
        "access to a disabled version",
    )
    by_path = api.access_secret_version_by_path(
        secret_path=root, secret_name=alpha.name, revision="latest"
    )
    check(
        (by_path.secret_id, base64.b64decode(by_path.data)) == (alpha.id, two),
        "access_secret_version_by_path: the same secret and payload",
    )
    raises(
        404,
        lambda: api.access_secret_version_by_path(
            secret_path="/elsewhere", secret_name=alpha.name, revision="1"
        ),
        "access_secret_version_by_path with the wrong path",
    )

    check(
        api.enable_secret_version(secret_id=alpha.id, revision="1").status
        == SecretVersionStatus.ENABLED,
        "enable_secret_version",
    )
    check(
        base64.b64decode(api.access_secret_version(secret_id=alpha.id, revision="1").data) == one,
        "enable_secret_version: revision 1 readable again",
    )
    check(
        api.access_secret_version(secret_id=alpha.id, revision="1").data_crc32 == zlib.crc32(one),
        "access_secret_version: data_crc32 stored",
    )
    check(
        api.disable_secret_version(secret_id=alpha.id, revision="1").status
        == SecretVersionStatus.DISABLED,
        "disable_secret_version",
    )
    expires = datetime.datetime(2099, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    patched = api.update_secret_version(
        secret_id=alpha.id,
        revision="2",
        description="second",
        ephemeral_properties=EphemeralProperties(
            action=EphemeralPolicyAction.DELETE, expires_at=expires, expires_once_accessed=False
        ),
    )
    check(patched.description == "second", "update_secret_version: description")
    check(
        patched.ephemeral_properties is not None
        and patched.ephemeral_properties.expires_at == expires
        and patched.ephemeral_properties.action == EphemeralPolicyAction.DELETE,
        f"update_secret_version: ephemeral properties, got {patched.ephemeral_properties}",
    )

    disabled = api.list_secret_versions(secret_id=alpha.id, status=[SecretVersionStatus.DISABLED])
    check([v.revision for v in disabled.versions] == [1], "list_secret_versions: status filter")
    every_version = api.list_secret_versions_all(secret_id=alpha.id, page_size=1)
    check(
        [v.revision for v in every_version] == [2, 1],
        "list_secret_versions_all: newest first, all pages",
    )

    check(
        api.delete_secret_version(secret_id=alpha.id, revision="1") is None, "delete_secret_version"
    )
    check(
        api.get_secret_version(secret_id=alpha.id, revision="1").status
        == SecretVersionStatus.SCHEDULED_FOR_DELETION,
        "delete_secret_version: scheduled for deletion",
    )
    restored = api.restore_secret_version(secret_id=alpha.id, revision="1")
    check(
        restored.status == SecretVersionStatus.DISABLED and restored.deletion_requested_at is None,
        f"restore_secret_version: back to disabled, got {restored.status}",
    )

    # A read-once policy: the version is deleted by its first access.
    once = api.update_secret(
        secret_id=beta.id,
        ephemeral_policy=EphemeralPolicy(
            action=EphemeralPolicyAction.DELETE, expires_once_accessed=True
        ),
    )
    check(
        once.ephemeral_policy.expires_once_accessed and once.ephemeral_policy.time_to_live is None,
        f"update_secret: policy replaced, got {once.ephemeral_policy}",
    )
    kv = b'{"user": "u", "token": "t"}'
    read_once = api.create_secret_version(secret_id=beta.id, data=b64(kv))
    check(
        read_once.ephemeral_properties.expires_once_accessed,
        "create_secret_version: inherits the policy",
    )
    check(
        base64.b64decode(api.access_secret_version(secret_id=beta.id, revision="1").data) == kv,
        "read-once access",
    )
    raises(
        404,
        lambda: api.access_secret_version(secret_id=beta.id, revision="1"),
        "second access to a read-once version",
    )
    check(
        api.get_secret_version(secret_id=beta.id, revision="1").status
        == SecretVersionStatus.DELETED,
        "read-once version deleted after its access",
    )

    # ---- tags and types -------------------------------------------------------------------------
    tags = api.list_tags()
    check({tag, "alpha", "more"} <= set(tags.tags), f"list_tags: {tags.tags}")
    check(tags.total_count == len(tags.tags), "list_tags: total_count")
    check(
        sorted(api.list_tags_all(page_size=1)) == sorted(tags.tags), "list_tags_all: pages of one"
    )
    types = api.list_secret_types()
    check(
        {SecretType.OPAQUE, SecretType.KEY_VALUE} <= set(types.types),
        f"list_secret_types: {types.types}",
    )
    check(
        sorted(api.list_secret_types_all(page_size=1)) == sorted(types.types),
        "list_secret_types_all: pages of one",
    )

    # ---- deletion and restore -------------------------------------------------------------------
    check(api.delete_secret(secret_id=gamma.id) is None, "delete_secret")
    scheduled = api.list_secrets(scheduled_for_deletion=True, path=root)
    check(
        ids(scheduled.secrets) == [gamma.id],
        f"list_secrets: scheduled_for_deletion=True, got {ids(scheduled.secrets)}",
    )
    check(
        scheduled.secrets[0].deletion_requested_at is not None,
        "delete_secret: deletion_requested_at",
    )
    check(
        gamma.id not in ids(api.list_secrets_all(scheduled_for_deletion=False)),
        "list_secrets_all: a deleted secret is not live",
    )
    check(
        ids(api.list_secrets_all(scheduled_for_deletion=True, path=root, page_size=1))
        == [gamma.id],
        "list_secrets_all: scheduled_for_deletion=True",
    )
    back = api.restore_secret(secret_id=gamma.id)
    check(back.id == gamma.id and back.deletion_requested_at is None, "restore_secret")
    check(
        api.list_secrets(scheduled_for_deletion=True, path=root).total_count == 0,
        "restore_secret: nothing scheduled",
    )

    # ---- errors ---------------------------------------------------------------------------------
    missing = str(uuid.uuid4())
    raises(404, lambda: api.get_secret(secret_id=missing), "get_secret of an unknown id")
    raises(
        404,
        lambda: api.get_secret_version(secret_id=alpha.id, revision="9"),
        "get_secret_version of an unknown revision",
    )
    raises(400, lambda: api.get_secret(secret_id="not-a-uuid"), "get_secret of a malformed id")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args()

    def client(secret_key):
        return Client(
            access_key="SCWXXXXXXXXXXXXXXXXX",
            secret_key=secret_key,
            default_project_id=args.project_id,
            default_region=REGION,
            api_url=args.api_url,
        )

    require_every_field()
    api = Recorder(SecretV1Beta1API(client(args.secret_key)))
    try:
        exercise(api, args.project_id)
        stranger = Recorder(SecretV1Beta1API(client(str(uuid.uuid4()))))
        raises(
            401,
            lambda: stranger.list_secrets(scheduled_for_deletion=False),
            "list_secrets with an unknown secret key",
        )
    except Exception as e:  # the report names the failure, whatever raised it
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        return 1

    print(f"scaleway SDK {importlib.metadata.version('scaleway')}")
    for method in api_methods():
        print(f"{method}: {api.calls[method]} call(s)")
    missed = [m for m in api_methods() if api.calls[m] == 0]
    if missed:
        print(f"FAILED: SDK methods never exercised: {', '.join(missed)}", file=sys.stderr)
        return 1
    print(f"all {len(api_methods())} SDK methods exercised")
    return 0


if __name__ == "__main__":
    sys.exit(main())
