#!/usr/bin/env python3
"""Writes vectors.json: SigV4 Authorization headers computed by botocore's
SigV4Auth, an implementation independent of the Rust aws-sigv4 crate the core
signs with. Regenerate from the repository root:

    python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt
    .venv/bin/python core/tests/vectors/sigv4/generate.py
"""
import datetime
import json
import os
from unittest import mock

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"
WHEN = datetime.datetime(2026, 11, 24, 12, 34, 56, tzinfo=datetime.timezone.utc)
BATCH = (
    '<?xml version="1.0" encoding="UTF-8"?><InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
    "<Paths><Quantity>2</Quantity><Items><Path>/blog/hello%20world</Path><Path>/blog/*</Path></Items></Paths>"
    "<CallerReference>invalidator-1-0123456789abcdef</CallerReference></InvalidationBatch>"
)
CREATE = "https://cloudfront.amazonaws.com/2020-05-31/distribution/E2EXAMPLE123/invalidation"
GET = "https://cloudfront.amazonaws.com/2020-05-31/distribution/E2EXAMPLE123/invalidation/I2J0I21PCUYOIK"
LOCAL_GET = "http://127.0.0.1:9911/2020-05-31/distribution/E2EXAMPLE123/invalidation/I2J0I21PCUYOIK"


def case(name, method, url, headers, body, token):
    creds = Credentials(ACCESS_KEY, SECRET_KEY, token)
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body.encode("utf-8"))
    auth = SigV4Auth(creds, "cloudfront", "us-east-1")
    # Record the canonical request and string to sign exactly as add_auth
    # computes them (recomputing them afterwards would be wrong: by then the
    # request carries an Authorization header, which would be canonicalised too).
    seen = {}
    canonical_request, string_to_sign = auth.canonical_request, auth.string_to_sign
    auth.canonical_request = lambda r: seen.setdefault("cr", canonical_request(r))
    auth.string_to_sign = lambda r, cr: seen.setdefault("sts", string_to_sign(r, cr))
    # botocore's own tests fix the time the same way: SigV4Auth reads it here.
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        auth.add_auth(request)
    canonical, string_to_sign = seen["cr"], seen["sts"]
    authorization = request.headers["Authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0]
    # The recorded string to sign is the one the signature was made from.
    assert authorization.endswith("Signature=" + auth.signature(string_to_sign, request)), name
    assert canonical.split("\n")[-2] == signed, (name, canonical)
    assert "authorization" not in canonical.lower(), name
    return {
        "name": name,
        "method": method,
        "url": url,
        "headers": headers,
        "body": body,
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "session_token": token,
        "region": "us-east-1",
        "service": "cloudfront",
        "time": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "epoch_seconds": int(WHEN.timestamp()),
        "signed_headers": signed,
        "expected": {
            "authorization": authorization,
            "x-amz-date": request.headers["X-Amz-Date"],
            "x-amz-security-token": request.headers.get("X-Amz-Security-Token"),
        },
        "canonical_request": canonical,
        "string_to_sign": string_to_sign,
    }


def main():
    xml = [["Content-Type", "application/xml"]]
    cases = [
        case("create-invalidation", "POST", CREATE, xml, BATCH, None),
        case("create-invalidation-with-token", "POST", CREATE, xml, BATCH, TOKEN),
        case("get-invalidation", "GET", GET, [], "", None),
        case("get-invalidation-with-token", "GET", GET, [], "", TOKEN),
        case("get-invalidation-local-endpoint", "GET", LOCAL_GET, [], "", None),
    ]
    for c in cases:
        allowed = {"host", "content-type", "x-amz-date", "x-amz-security-token"}
        assert set(c["signed_headers"].split(";")) <= allowed, c["signed_headers"]
    out = {"generator": f"botocore {botocore.__version__} SigV4Auth", "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
