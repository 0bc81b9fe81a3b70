"""Signs requests with the official OCI Python SDK's signer (oci.signer.Signer) and prints the headers.

The referee for Keyward's signer (src/provider/oci/signing.rs): the Rust tests feed the same requests
to both and compare, and verify the SDK's signatures with the Rust verifier.

stdin: {"tenancy", "user", "fingerprint", "key_file", "pass_phrase"?,
        "requests": [{"method", "url", "date"?, "body"?, "content_type"?}]}
stdout: [{"lower-case header": "value", ...}, ...]  (every header of each prepared request, signed)

Run with the SDK venv's python (tests/tools/install-oci-sdk.sh prints it).
"""

import json
import sys

import oci
from oci._vendor import requests


def main():
    spec = json.load(sys.stdin)
    signer = oci.signer.Signer(
        spec["tenancy"],
        spec["user"],
        spec["fingerprint"],
        private_key_file_location=spec["key_file"],
        pass_phrase=spec.get("pass_phrase"),
    )
    out = []
    for r in spec["requests"]:
        headers = {}
        if "date" in r:
            # The signer only fills `date` when it is missing, so a fixed one gives fixed vectors.
            headers["date"] = r["date"]
        if "content_type" in r:
            headers["content-type"] = r["content_type"]
        body = r.get("body")
        prepared = requests.Request(
            r["method"],
            r["url"],
            headers=headers,
            data=body.encode("utf-8") if body is not None else None,
        ).prepare()
        signer(prepared)
        out.append({k.lower(): v for k, v in prepared.headers.items()})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
