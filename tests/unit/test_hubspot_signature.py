"""Our HubSpot request check accepts HubSpot's own signature test vectors (HubSpot/hubspot-api-python
tests/spec/utils/test_signature.py, and the worked v1 example of HubSpot's request-validation docs), and
refuses them once anything signed is changed."""

import json
from pathlib import Path

import pytest

from handlers.sources import hubspot

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "hubspot" / "signature_vectors.json")
                     .read_text(encoding="utf-8"))
SECRET, BODY, URL = VECTORS["client_secret"], VECTORS["request_body"].encode(), VECTORS["url"]
TIMESTAMP = VECTORS["timestamp"]


def v3(signature: str, timestamp: int = TIMESTAMP) -> dict:
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": str(timestamp)}


def legacy(signature: str, version: str) -> dict:
    return {"X-HubSpot-Signature": signature, "X-HubSpot-Signature-Version": version}


def test_hubspots_v3_vector_is_accepted():
    # HubSpot's vector was signed at timestamp 15000000 ms; our clock is set there so it is fresh.
    assert hubspot.check(SECRET, "POST", URL, v3(VECTORS["v3"]), BODY, now_ms=TIMESTAMP) is None


def test_hubspots_v1_and_v2_vectors_are_accepted():
    assert hubspot.check(SECRET, "POST", URL, legacy(VECTORS["v1"], "v1"), BODY, now_ms=0) is None
    assert hubspot.check(SECRET, "POST", URL, legacy(VECTORS["v2"], "v2"), BODY, now_ms=0) is None
    assert hubspot.check(SECRET, "GET", URL, legacy(VECTORS["v2_get_empty_body"], "v2"), b"", now_ms=0) is None


def test_hubspots_worked_v1_example_is_accepted():
    example = VECTORS["v1_faq_example"]
    headers = legacy(example["signature"], "v1")
    assert hubspot.check(example["client_secret"], "POST", "https://h.example/webhooks/hubspot", headers,
                         example["request_body"].encode(), now_ms=0) is None


@pytest.mark.parametrize("change", ["body", "uri", "method", "timestamp", "secret"])
def test_hubspots_v3_vector_is_refused_when_anything_signed_changes(change):
    secret, method, uri, body, timestamp = SECRET, "POST", URL, BODY, TIMESTAMP
    if change == "body":
        body = body.replace(b"example_value", b"other_value")
    elif change == "uri":
        uri = URL + "?x=1"
    elif change == "method":
        method = "PUT"
    elif change == "timestamp":
        timestamp += 1
    else:
        secret = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
    problem = hubspot.check(secret, method, uri, v3(VECTORS["v3"], timestamp), body, now_ms=TIMESTAMP)
    assert problem is not None and "does not match" in problem


def test_hubspots_v3_vector_is_stale_five_minutes_later():
    problem = hubspot.check(SECRET, "POST", URL, v3(VECTORS["v3"]), BODY, now_ms=TIMESTAMP + 5 * 60 * 1000 + 1)
    assert problem is not None and "5 minutes" in problem
