"""The Slack Web API fake, driven through a real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.support.fake_slack import Call, FakeSlack

TS_RE = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture
def fake_slack():
    """A running fake with one rep, one public channel the bot is in, one it is not in, and one
    private channel it is not in."""
    with FakeSlack() as fake:
        fake.add_user("dana@example.com", "U0DANA", "dana", tz="Europe/Berlin", real_name="Dana Scully")
        fake.add_user("fox@example.com", "U0FOX", "fox")
        fake.add_channel("C0SALES", "sales")
        fake.add_channel("C0PUBLIC", "announcements", is_member=False)
        fake.add_channel("C0SECRET", "exec", is_member=False, is_private=True)
        yield fake


@pytest.fixture
def client(fake_slack):
    return WebClient(token="xoxb-test", base_url=fake_slack.url)


def _error_of(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# ---- server basics -------------------------------------------------------------------------------


def test_urls_and_lifecycle():
    fake = FakeSlack().start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.url)
        assert fake.base == f"http://127.0.0.1:{fake.port}"
        assert fake.url == fake.base + "/api/"
        assert fake.response_url("cmd-1") == fake.base + "/response/cmd-1"
        assert httpx.get(fake.base + "/nowhere").status_code == 404
    finally:
        fake.stop()
        fake.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = fake.url


def test_auth_test_and_call_recording(fake_slack, client):
    answer = client.auth_test()
    assert answer["ok"] is True
    assert answer["team_id"] == "T0FAKE"
    assert answer["user"] == "leadbrief"
    assert answer["user_id"] == "U0BOT"
    assert answer["bot_id"] == "B0BOT"
    assert answer["url"].startswith("https://")
    assert answer["team"]

    [call] = fake_slack.calls
    assert isinstance(call, Call)
    assert call.method == "auth.test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert abs(call.at - time.time()) < 5


def test_invalid_auth(fake_slack):
    error = _error_of(WebClient(token="xoxp-a-user-token", base_url=fake_slack.url).auth_test)
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_auth"

    assert _error_of(WebClient(base_url=fake_slack.url).auth_test).response["error"] == "not_authed"

    fake_slack.valid_tokens = {"xoxb-test"}
    other = WebClient(token="xoxb-other", base_url=fake_slack.url)
    assert _error_of(other.auth_test).response["error"] == "invalid_auth"
    assert WebClient(token="xoxb-test", base_url=fake_slack.url).auth_test()["ok"]
    # rejected calls are recorded too
    assert len(fake_slack.calls_to("auth.test")) == 4


def test_unknown_method(client):
    error = _error_of(lambda: client.api_call("reactions.add", json={"channel": "C0SALES"}))
    assert error.response["error"] == "unknown_method"


# ---- chat.postMessage ----------------------------------------------------------------------------


def test_post_message_with_blocks(fake_slack, client):
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Brief"}}, _section("*Dana* asked")]
    answer = client.chat_postMessage(channel="C0SALES", text="Brief for Dana", blocks=blocks)
    assert answer["channel"] == "C0SALES"
    assert TS_RE.match(answer["ts"])
    assert answer["message"]["text"] == "Brief for Dana"
    assert answer["message"]["blocks"] == blocks
    assert answer["message"]["bot_id"] == "B0BOT"

    [params] = fake_slack.calls_to("chat.postMessage")
    assert params["blocks"] == blocks  # an object, not a JSON string
    assert fake_slack.calls[0].headers["content-type"].startswith("application/json")
    stored = fake_slack.messages[("C0SALES", answer["ts"])]
    assert stored["text"] == "Brief for Dana"
    assert stored["blocks"] == blocks
    assert stored["thread_ts"] is None


def test_post_message_ts_unique_and_increasing(client):
    stamps = [client.chat_postMessage(channel="C0SALES", text=f"m{i}")["ts"] for i in range(5)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 5
    assert all(float(a) < float(b) for a, b in zip(stamps, stamps[1:], strict=False))


def test_post_message_form_encoded_decodes_json_strings(fake_slack, client):
    blocks = [_section("form body")]
    client.api_call(
        "chat.postMessage",
        params={"channel": "C0SALES", "text": "t", "blocks": json.dumps(blocks), "thread_ts": "1.000001"},
    )
    [call] = fake_slack.calls
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.params["blocks"] == blocks
    assert call.params["thread_ts"] == "1.000001"
    [stored] = fake_slack.messages.values()
    assert stored["thread_ts"] == "1.000001"


def test_post_message_undecodable_blocks(client):
    error = _error_of(
        lambda: client.api_call("chat.postMessage", params={"channel": "C0SALES", "blocks": "[not json"})
    )
    assert error.response["error"] == "invalid_blocks_format"


def test_post_message_channels(fake_slack, client):
    dm = client.chat_postMessage(channel="U0DANA", text="hi Dana")
    assert dm["channel"] == "D0DANA"
    assert ("D0DANA", dm["ts"]) in fake_slack.messages
    assert client.chat_postMessage(channel="D0DANA", text="again")["channel"] == "D0DANA"

    # public channels accept posts without membership (chat:write.public)
    assert client.chat_postMessage(channel="C0PUBLIC", text="hello")["ok"]
    assert client.chat_postMessage(channel="#sales", text="by name")["channel"] == "C0SALES"

    error = _error_of(lambda: client.chat_postMessage(channel="C0NOPE", text="x"))
    assert error.response["error"] == "channel_not_found"
    assert error.response.status_code == 200
    assert _error_of(lambda: client.chat_postMessage(channel="U0NOBODY", text="x")).response["error"] == (
        "channel_not_found"
    )
    error = _error_of(lambda: client.chat_postMessage(channel="C0SECRET", text="x"))
    assert error.response["error"] == "not_in_channel"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_needs_content(client):
    assert _error_of(lambda: client.chat_postMessage(channel="C0SALES")).response["error"] == "no_text"


def test_post_message_limits_at_the_edge_are_accepted(client):
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "b" * 75},
        "url": "https://example.com/" + "u" * (3000 - 20),
    }
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        _section("s" * 3000),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "actions", "elements": [button]},
        {"type": "divider"},
    ]
    blocks += [_section("filler")] * (50 - len(blocks))
    assert len(blocks) == 50
    assert client.chat_postMessage(channel="C0SALES", text="t" * 40000, blocks=blocks)["ok"]


@pytest.mark.parametrize(
    ("blocks", "text", "expected"),
    [
        pytest.param([_section("x")] * 51, "t", "[json-pointer:/blocks]", id="51-blocks"),
        pytest.param([_section("s" * 3001)], "t", "[json-pointer:/blocks/0/text/text]", id="section-3001"),
        pytest.param(
            [_section("ok"), {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "t",
            "[json-pointer:/blocks/1/text/text]",
            id="header-151",
        ),
        pytest.param(
            [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
            "t",
            "[json-pointer:/blocks/0/text/type]",
            id="header-mrkdwn",
        ),
        pytest.param(
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "t",
            "[json-pointer:/blocks/0/elements]",
            id="context-11",
        ),
        pytest.param(
            [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
            "t",
            "[json-pointer:/blocks/0/text/type]",
            id="bad-text-type",
        ),
        pytest.param(
            [
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
                }
            ],
            "t",
            "[json-pointer:/blocks/0/elements/0/text/text]",
            id="button-text-76",
        ),
        pytest.param(
            [
                _section("x")
                | {
                    "accessory": {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open"},
                        "url": "https://e.com/" + "u" * 3000,
                    }
                }
            ],
            "t",
            "[json-pointer:/blocks/0/accessory/url]",
            id="button-url-3001",
        ),
        pytest.param(None, "t" * 40001, "[json-pointer:/text]", id="text-40001"),
        pytest.param([_section("")], "t", "must be more than 0 characters", id="empty-text"),
        pytest.param([{"type": "secton"}], "t", "unknown block type 'secton'", id="unknown-type"),
    ],
)
def test_post_message_invalid_blocks(fake_slack, client, blocks, text, expected):
    error = _error_of(lambda: client.chat_postMessage(channel="C0SALES", text=text, blocks=blocks))
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_blocks"
    assert any(expected in e for e in error.response["errors"]), error.response["errors"]
    assert error.response["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert fake_slack.messages == {}


def test_invalid_blocks_error_says_what(client):
    error = _error_of(
        lambda: client.chat_postMessage(channel="C0SALES", text="t", blocks=[_section("s" * 3001)])
    )
    assert error.response["errors"] == [
        "must be less than 3001 characters (got 3001) [json-pointer:/blocks/0/text/text]"
    ]


# ---- chat.update / chat.postEphemeral ------------------------------------------------------------


def test_chat_update(fake_slack, client):
    posted = client.chat_postMessage(channel="C0SALES", text="draft", blocks=[_section("draft")])
    answer = client.chat_update(channel="C0SALES", ts=posted["ts"], text="final", blocks=[_section("final")])
    assert (answer["channel"], answer["ts"]) == ("C0SALES", posted["ts"])
    stored = fake_slack.messages[("C0SALES", posted["ts"])]
    assert stored["text"] == "final"
    assert stored["blocks"] == [_section("final")]

    error = _error_of(lambda: client.chat_update(channel="C0SALES", ts="1700000000.999999", text="x"))
    assert error.response["error"] == "message_not_found"
    error = _error_of(
        lambda: client.chat_update(channel="C0SALES", ts=posted["ts"], text="x", blocks=[_section("x")] * 51)
    )
    assert error.response["error"] == "invalid_blocks"
    assert fake_slack.messages[("C0SALES", posted["ts"])]["text"] == "final"


def test_chat_post_ephemeral(fake_slack, client):
    answer = client.chat_postEphemeral(channel="C0SALES", user="U0DANA", text="only you")
    assert TS_RE.match(answer["message_ts"])
    assert fake_slack.messages == {}  # ephemeral messages are not stored
    error = _error_of(lambda: client.chat_postEphemeral(channel="C0SALES", user="U0NOBODY", text="x"))
    assert error.response["error"] == "user_not_found"
    error = _error_of(lambda: client.api_call("chat.postEphemeral", json={"channel": "C0SALES", "text": "x"}))
    assert error.response["error"] == "invalid_arguments"


# ---- users / conversations -----------------------------------------------------------------------


def test_users_lookup_by_email_and_info(fake_slack, client):
    user = client.users_lookupByEmail(email="dana@example.com")["user"]
    assert user["id"] == "U0DANA"
    assert user["name"] == "dana"
    assert user["real_name"] == "Dana Scully"
    assert user["tz"] == "Europe/Berlin"
    assert user["profile"] == user["profile"] | {
        "email": "dana@example.com",
        "real_name": "Dana Scully",
        "display_name": "dana",
    }
    # GET-style method: the argument travelled in the query string
    assert fake_slack.calls_to("users.lookupByEmail") == [{"email": "dana@example.com"}]
    assert client.users_lookupByEmail(email="FOX@example.com")["user"]["real_name"] == "fox"

    error = _error_of(lambda: client.users_lookupByEmail(email="nobody@example.com"))
    assert error.response["error"] == "users_not_found"

    assert client.users_info(user="U0FOX")["user"]["profile"]["email"] == "fox@example.com"
    assert _error_of(lambda: client.users_info(user="U0NOBODY")).response["error"] == "user_not_found"


def test_conversations_info_and_open(client):
    channel = client.conversations_info(channel="C0SECRET")["channel"]
    assert channel == channel | {"id": "C0SECRET", "name": "exec", "is_member": False, "is_private": True}
    assert client.conversations_info(channel="C0SALES")["channel"]["is_member"] is True
    error = _error_of(lambda: client.conversations_info(channel="C0NOPE"))
    assert error.response["error"] == "channel_not_found"

    assert client.conversations_open(users="U0DANA")["channel"]["id"] == "D0DANA"
    assert client.conversations_open(users=["U0FOX"])["channel"]["id"] == "D0FOX"
    assert _error_of(lambda: client.conversations_open(users="U0NOBODY")).response["error"] == (
        "user_not_found"
    )


# ---- views -----------------------------------------------------------------------------------------


def _modal(title: str = "Lead brief", blocks: list | None = None) -> dict:
    return {
        "type": "modal",
        "callback_id": "brief",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks if blocks is not None else [_section("hello")],
    }


def test_views_open_and_update(fake_slack, client):
    view = client.views_open(trigger_id="123.456.abc", view=_modal())["view"]
    assert view["id"].startswith("V")
    assert view["title"]["text"] == "Lead brief"
    assert view["callback_id"] == "brief"
    assert fake_slack.views[view["id"]]["blocks"] == [_section("hello")]
    assert fake_slack.calls_to("views.open")[0]["view"]["type"] == "modal"

    updated = client.views_update(view_id=view["id"], view=_modal(blocks=[_section("updated")]))["view"]
    assert updated["id"] == view["id"]
    assert fake_slack.views[view["id"]]["blocks"] == [_section("updated")]

    error = _error_of(lambda: client.views_update(view_id="V0NOPE", view=_modal()))
    assert error.response["error"] == "not_found"


def test_views_open_form_encoded_view(fake_slack, client):
    client.api_call("views.open", params={"trigger_id": "1.2.3", "view": json.dumps(_modal())})
    assert fake_slack.calls_to("views.open")[0]["view"] == _modal()


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        pytest.param(_modal(title="t" * 25), "[json-pointer:/view/title/text]", id="title-25"),
        pytest.param({"type": "modal", "blocks": []}, "[json-pointer:/view/title]", id="no-title"),
        pytest.param(
            _modal() | {"title": {"type": "mrkdwn", "text": "x"}},
            "[json-pointer:/view/title/type]",
            id="title-mrkdwn",
        ),
        pytest.param(
            {"title": {"type": "plain_text", "text": "x"}, "blocks": []}, "/view/type", id="no-type"
        ),
        pytest.param(_modal(blocks=[_section("x")] * 101), "[json-pointer:/view/blocks]", id="101-blocks"),
        pytest.param(_modal(blocks=[_section("s" * 3001)]), "/view/blocks/0/text/text", id="section-3001"),
    ],
)
def test_views_open_invalid(fake_slack, client, view, expected):
    error = _error_of(lambda: client.views_open(trigger_id="1.2.3", view=view))
    assert error.response["error"] == "invalid_arguments"
    assert any(expected in e for e in error.response["errors"]), error.response["errors"]
    assert fake_slack.views == {}


def test_views_open_needs_trigger_id(client):
    error = _error_of(lambda: client.api_call("views.open", json={"view": _modal()}))
    assert error.response["error"] == "invalid_arguments"
    assert "trigger_id" in error.response["response_metadata"]["messages"][0]


def test_views_accept_100_blocks(client):
    assert client.views_open(trigger_id="1.2.3", view=_modal(blocks=[_section("x")] * 100))["ok"]


# ---- scripted failures -----------------------------------------------------------------------------


def test_fail(fake_slack, client):
    fake_slack.fail("chat.postMessage", "is_archived", times=2)
    for _ in range(2):
        error = _error_of(lambda: client.chat_postMessage(channel="C0SALES", text="x"))
        assert error.response.status_code == 200
        assert error.response["error"] == "is_archived"
    assert client.chat_postMessage(channel="C0SALES", text="x")["ok"]
    assert client.auth_test()["ok"]  # other methods unaffected
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


def test_rate_limit_sets_retry_after(fake_slack, client):
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=7)
    error = _error_of(lambda: client.chat_postMessage(channel="C0SALES", text="x"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "7"
    assert int(error.response.headers["retry-after"]) == 7
    assert client.chat_postMessage(channel="C0SALES", text="x")["ok"]


def test_server_error(fake_slack, client):
    fake_slack.server_error("users.lookupByEmail")
    error = _error_of(lambda: client.users_lookupByEmail(email="dana@example.com"))
    assert error.response.status_code == 503
    assert error.response["ok"] is False
    assert client.users_lookupByEmail(email="dana@example.com")["ok"]

    fake_slack.server_error("auth.test", status=500)
    assert _error_of(client.auth_test).response.status_code == 500


def test_scripted_failure_wins_over_auth(fake_slack):
    fake_slack.fail("auth.test", "account_inactive")
    error = _error_of(WebClient(token="nope", base_url=fake_slack.url).auth_test)
    assert error.response["error"] == "account_inactive"


def test_enforced_channel_rate():
    with FakeSlack(enforce_channel_rate=0.5) as fake:
        fake.add_channel("C1", "one")
        fake.add_channel("C2", "two")
        client = WebClient(token="xoxb-test", base_url=fake.url)
        assert client.chat_postMessage(channel="C1", text="1")["ok"]
        error = _error_of(lambda: client.chat_postMessage(channel="C1", text="2"))
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "1"
        assert error.response["error"] == "ratelimited"
        assert client.chat_postMessage(channel="C2", text="other channel")["ok"]  # per channel
        time.sleep(0.55)
        assert client.chat_postMessage(channel="C1", text="3")["ok"]
        assert [m["text"] for m in fake.messages.values()] == ["1", "other channel", "3"]


# ---- response_url, waiting, reset, concurrency ---------------------------------------------------


def test_response_url_records_posts(fake_slack):
    url = fake_slack.response_url("brief-cmd")
    answer = httpx.post(url, json={"text": "working on it", "response_type": "ephemeral"})
    assert answer.status_code == 200
    assert answer.text == "ok"
    httpx.post(fake_slack.response_url("other"), json={"replace_original": True})
    assert fake_slack.responses == [
        ("brief-cmd", {"text": "working on it", "response_type": "ephemeral"}),
        ("other", {"replace_original": True}),
    ]
    assert fake_slack.wait_for_responses("brief-cmd") == [
        {"text": "working on it", "response_type": "ephemeral"}
    ]
    assert fake_slack.calls == []  # response_url posts are not API calls
    with pytest.raises(AssertionError, match="other"):
        fake_slack.wait_for_responses("nope", timeout=0.05)


def test_wait_for(fake_slack, client):
    def later():
        time.sleep(0.1)
        client.chat_postMessage(channel="C0SALES", text="from a worker")

    worker = threading.Thread(target=later)
    worker.start()
    [params] = fake_slack.wait_for("chat.postMessage", timeout=5)
    worker.join()
    assert params["text"] == "from a worker"

    client.auth_test()
    with pytest.raises(AssertionError) as caught:
        fake_slack.wait_for("chat.postMessage", count=2, timeout=0.05)
    message = str(caught.value)
    assert "expected 2 call(s) to chat.postMessage" in message
    assert "got 1" in message
    assert "auth.test x1" in message
    assert "chat.postMessage x1" in message


def test_reset_keeps_users_and_channels(fake_slack, client):
    client.chat_postMessage(channel="C0SALES", text="x")
    fake_slack.fail("auth.test", "invalid_auth")
    httpx.post(fake_slack.response_url("r"), json={})
    fake_slack.reset()
    assert fake_slack.calls == []
    assert fake_slack.responses == []
    assert fake_slack.messages == {}
    assert client.auth_test()["ok"]  # scripted failure forgotten
    assert client.users_info(user="U0DANA")["ok"]
    assert client.chat_postMessage(channel="C0SALES", text="y")["ok"]


def test_concurrent_posts(fake_slack):
    clients = [WebClient(token="xoxb-test", base_url=fake_slack.url) for _ in range(8)]
    stamps: list[str] = []
    lock = threading.Lock()

    def post(c: WebClient, n: int) -> None:
        for i in range(10):
            ts = c.chat_postMessage(channel="C0SALES", text=f"{n}-{i}")["ts"]
            with lock:
                stamps.append(ts)

    threads = [threading.Thread(target=post, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_slack.calls_to("chat.postMessage")) == 80
    assert len(set(stamps)) == 80
    assert fake_slack.internal_errors == []


# ---- the total text of a message's blocks (msg_blocks_too_long) --------------------------------


def _sized(total: int) -> list[dict]:
    """Blocks holding exactly `total` characters of text, spread over every kind of text Slack counts."""
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 70}, "value": "v" * 2000}
    select = {"type": "static_select", "action_id": "s", "placeholder": {"type": "plain_text", "text": "p" * 10},
              "options": [{"text": {"type": "plain_text", "text": "o" * 20}, "value": "x"}]}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 2},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 1000}] * 2},
        {"type": "actions", "elements": [button, select]},
        _section("s" * 3000) | {"accessory": button},
    ]
    used = 150 + 4000 + 2000 + 100 + 3070
    while used < total:
        n = min(3000, total - used)
        blocks.append(_section("t" * n))
        used += n
    return blocks


def test_blocks_with_12000_characters_of_text_in_all_are_accepted(fake_slack, client):
    blocks = _sized(12000)
    assert client.chat_postMessage(channel="C0SALES", text="t", blocks=blocks)["ok"]
    assert client.chat_postEphemeral(channel="C0SALES", user="U0DANA", text="t", blocks=blocks)["ok"]


@pytest.mark.parametrize("method", ["chat.postMessage", "chat.update", "chat.postEphemeral"])
def test_more_than_12000_characters_of_text_in_all_is_msg_blocks_too_long(fake_slack, client, method):
    posted = client.chat_postMessage(channel="C0SALES", text="first", blocks=[_section("first")])
    blocks = _sized(12001)  # every block is within its own limits: only the total is too long
    args = {"channel": "C0SALES", "text": "t", "blocks": blocks}
    call = {"chat.postMessage": lambda: client.chat_postMessage(**args),
            "chat.update": lambda: client.chat_update(ts=posted["ts"], **args),
            "chat.postEphemeral": lambda: client.chat_postEphemeral(user="U0DANA", **args)}[method]
    error = _error_of(call)
    assert (error.response.status_code, error.response["error"]) == (200, "msg_blocks_too_long")
    assert list(fake_slack.messages.values())[0]["blocks"] == [_section("first")]
    assert len(fake_slack.messages) == 1


def test_response_url_refuses_what_slack_refuses(fake_slack):
    url = fake_slack.response_url("long")
    answer = httpx.post(url, json={"text": "t", "blocks": _sized(12001)})
    assert (answer.status_code, answer.text) == (400, "msg_blocks_too_long")
    answer = httpx.post(url, json={"text": "t", "blocks": [_section("s" * 3001)]})
    assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    assert fake_slack.responses == []
    assert [(n, e) for n, _, e in fake_slack.rejected_responses] == [("long", "msg_blocks_too_long"),
                                                                     ("long", "invalid_blocks")]
    with pytest.raises(AssertionError, match="refused there: msg_blocks_too_long, invalid_blocks"):
        fake_slack.wait_for_responses("long", timeout=0.05)
    assert httpx.post(url, json={"text": "t", "blocks": _sized(12000)}).text == "ok"
    assert len(fake_slack.wait_for_responses("long")) == 1


def test_history_returns_top_level_messages_newest_first_with_metadata_only_when_asked(client, fake_slack):
    meta = {"event_type": "leadbrief_brief", "event_payload": {"delivery_id": 7}}
    first = client.chat_postMessage(channel="C0SALES", text="one", metadata=meta)["ts"]
    client.chat_postMessage(channel="C0SALES", thread_ts=first, text="a reply")
    second = client.chat_postMessage(channel="C0SALES", text="two")["ts"]
    assert abs(float(first) - time.time()) < 60  # a ts is the message's Unix time, as Slack's is
    page = client.conversations_history(channel="C0SALES", include_all_metadata=True)
    assert [m["ts"] for m in page["messages"]] == [second, first]
    assert page["messages"][1]["metadata"] == meta and "metadata" not in page["messages"][0]
    assert "metadata" not in client.conversations_history(channel="C0SALES")["messages"][1]
    assert [m["ts"] for m in client.conversations_history(channel="C0SALES", oldest=first)["messages"]] == [second]
    assert [m["ts"] for m in client.conversations_history(channel="C0SALES", oldest=first, inclusive=True,
                                                          limit=1)["messages"]] == [second]
    assert _error_of(lambda: client.conversations_history(channel="C0PUBLIC")).response["error"] == "not_in_channel"
    dm = client.chat_postMessage(channel="U0DANA", text="hi")
    assert client.conversations_history(channel=dm["channel"])["messages"][0]["ts"] == dm["ts"]


def test_post_then_fail_stores_the_message_and_answers_503_or_drops_the_connection(fake_slack):
    from tests.support.fake_slack import DROP

    client = WebClient(token="xoxb-test", base_url=fake_slack.url, retry_handlers=[])  # no blind reposts

    fake_slack.post_then_fail("chat.postMessage", status=503)
    assert _error_of(lambda: client.chat_postMessage(channel="C0SALES", text="x")).response.status_code == 503
    fake_slack.post_then_fail("chat.postMessage", status=DROP)
    with pytest.raises(OSError):
        client.chat_postMessage(channel="C0SALES", text="y")
    assert [m["text"] for m in fake_slack.messages.values()] == ["x", "y"]
    assert len(fake_slack.failed_after_success) == 2
    # A call that fails on its own merits is answered as usual, and uses up the scripted failure.
    fake_slack.post_then_fail("chat.postMessage", status=503)
    assert _error_of(lambda: client.chat_postMessage(channel="C0NOPE", text="z")).response["error"] == \
        "channel_not_found"
    assert client.chat_postMessage(channel="C0SALES", text="w")["ok"]


def test_a_call_needing_a_scope_the_app_was_not_granted_is_missing_scope(fake_slack, client):
    fake_slack.granted_scopes = {"chat:write", "im:read"}
    error = _error_of(lambda: client.conversations_open(users="U0DANA"))
    assert error.response["error"] == "missing_scope" and "im:write" in error.response["needed"]
    assert client.chat_postMessage(channel="U0DANA", text="hi")["ok"]  # chat:write is enough for a DM
    fake_slack.granted_scopes = None
    assert client.conversations_open(users="U0DANA")["ok"]


def test_users_conversations_lists_the_dms_the_bot_has_with_their_user(fake_slack, client):
    assert client.users_conversations(types="im")["channels"] == []
    client.chat_postMessage(channel="U0DANA", text="hi")
    (im,) = client.users_conversations(types="im", limit=1)["channels"]
    assert (im["id"], im["user"], im["is_im"]) == (FakeSlack.dm_channel_id("U0DANA"), "U0DANA", True)
    public = client.users_conversations()["channels"]
    assert [c["id"] for c in public] == ["C0SALES"]
