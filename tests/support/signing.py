"""Signed requests to our app: webhooks signed with the webhook secret, Slack requests with the signing secret."""

from __future__ import annotations

import time

SECRET = "test-webhook-secret-0123456789"
SLACK_SIGNING_SECRET = "slack-signing-secret-for-tests"


def signed_headers(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict:
    from handlers.webhooks import sign

    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Leadbrief-Timestamp": ts,
        "X-Leadbrief-Signature": sign(secret, ts, body),
    }


def slack_headers(body: str, timestamp: int | None = None, secret: str = SLACK_SIGNING_SECRET,
                  content_type: str = "application/x-www-form-urlencoded") -> dict:
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
    }
