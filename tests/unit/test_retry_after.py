"""bot.gateway.retry_after: the one reading of a 429's Retry-After."""

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.gateway import retry_after


def rate_limited(headers: dict) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url="https://slack.example/api/chat.postMessage",
                             req_args={}, data={"ok": False, "error": "ratelimited"}, headers=headers,
                             status_code=429)
    return SlackApiError("ratelimited", response)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after": "3"}, 3.0),
    ({"RETRY-AFTER": ["2"]}, 2.0),
    ({"Retry-After": "0.5"}, 0.5),
    ({}, 1.0),
    ({"Retry-After": "soon"}, 1.0),
    ({"Retry-After": "inf"}, 1.0),
    ({"Retry-After": []}, 1.0),
])
def test_retry_after(headers, seconds):
    assert retry_after(rate_limited(headers)) == seconds
