"""Socket Mode end to end: the real app connects to the fake's WebSocket; envelopes in, acks and effects out."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient

from briefs.commands import HELP
from tests.support.live import LiveServer, wait_for

APP_TOKEN = "xapp-1-test"


@pytest.fixture
def socket_server(slack_settings, fake_slack):
    """The app in Socket Mode (SLACK_APP_TOKEN set), its client connected to the fake."""
    with LiveServer(replace(slack_settings, slack_app_token=APP_TOKEN)) as server:
        yield server
    # The app stopped, closing its Socket Mode client on the way: nothing is left connected to the fake.
    assert not server.thread.is_alive()
    wait_for(lambda: not fake_slack.socket_clients(), timeout=5)


def slash_envelope(fake, text: str, name: str, user: str = "U0JANE") -> dict:
    return {
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "legacy", "team_id": "T0FAKE", "team_domain": "leadbrief-fake", "channel_id": "C0JANE",
            "channel_name": "jane-leads", "user_id": user, "user_name": "jane", "command": "/lead", "text": text,
            "api_app_id": "A0FAKE", "is_enterprise_install": "false", "response_url": fake.response_url(name),
            "trigger_id": "1.2.trig",
        },
    }


def home_opened_envelope(event_id: str, user: str = "U0JANE", **extra) -> dict:
    return {
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": {
            "token": "legacy", "team_id": "T0FAKE", "api_app_id": "A0FAKE", "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()), "authorizations": [],
            "event": {"type": "app_home_opened", "user": user, "channel": "D0JANE", "tab": "home",
                      "event_ts": f"{time.time():.6f}"},
        },
        **extra,
    }


def test_slash_command_is_acked_and_answered_over_the_socket(socket_server, fake_slack):
    conn = fake_slack.wait_for_socket_client(timeout=5)
    with fake_slack.lock:
        opened = [c for c in fake_slack.calls if c.method == "apps.connections.open"]
    # One call checks the app token at startup, one opens the connection.
    assert [c.headers["authorization"] for c in opened] == [f"Bearer {APP_TOKEN}"] * 2
    # The builtin client pings as soon as it is connected (the fake answers), and answers the fake's pings.
    wait_for(lambda: conn.pings >= 1 and conn.pongs >= 1, timeout=5)

    envelope_id = fake_slack.socket_send(slash_envelope(fake_slack, "help", "sm"))
    # An empty ack: nothing is posted in the channel; the answer goes privately to response_url.
    assert fake_slack.wait_for_ack(envelope_id, timeout=5) == {"envelope_id": envelope_id}
    reply = fake_slack.wait_for_responses("sm", timeout=5)[0]
    assert "/lead route #my-leads" in reply["text"]
    assert reply["text"] == HELP
    assert reply["response_type"] == "ephemeral"


def test_app_home_opened_publishes_the_home_once_even_when_redelivered(socket_server, fake_slack):
    fake_slack.wait_for_socket_client(timeout=5)
    first = fake_slack.socket_send(home_opened_envelope("Ev0HOME1"))
    assert fake_slack.wait_for_ack(first, timeout=5) == {"envelope_id": first}
    published = fake_slack.wait_for("views.publish", timeout=5)[0]
    assert published["user_id"] == "U0JANE"
    assert published["view"]["type"] == "home"
    assert published["view"]["blocks"][0]["text"]["text"] == "Your leads"
    assert "no open leads" in str(published["view"]["blocks"])

    # Slack redelivers the same event (it thought we missed it): acked again, acted on once.
    again = fake_slack.socket_send(home_opened_envelope("Ev0HOME1", retry_attempt=1, retry_reason="timeout"))
    fake_slack.wait_for_ack(again, timeout=5)
    # Another event after the redelivery is acted on: by then the redelivery, acted on, would have published too.
    fake_slack.socket_send(home_opened_envelope("Ev0HOME2", user="U0OMAR"))
    wait_for(lambda: any(c["user_id"] == "U0OMAR" for c in fake_slack.calls_to("views.publish")), timeout=5)
    assert [c["user_id"] for c in fake_slack.calls_to("views.publish")] == ["U0JANE", "U0OMAR"]
    assert fake_slack.internal_errors == []


def test_no_http_events_endpoint_in_socket_mode(socket_server, fake_slack):
    fake_slack.wait_for_socket_client(timeout=5)
    r = httpx.post(f"{socket_server.url}/slack/events", content="command=/lead&text=help", timeout=5)
    assert r.status_code == 404
    assert httpx.get(f"{socket_server.url}/healthz", timeout=5).status_code == 200


def test_the_app_reconnects_when_slack_recycles_the_connection(socket_server, fake_slack):
    first = fake_slack.wait_for_socket_client(timeout=5)
    fake_slack.socket_disconnect("refresh_requested")
    second = fake_slack.wait_for_socket_client(timeout=5, count=2)
    assert second is not first
    assert len(fake_slack.calls_to("apps.connections.open")) == 3  # startup check, first and second connection
    wait_for(lambda: not first.open, timeout=5)  # the client drops the old connection itself

    envelope_id = fake_slack.socket_send(slash_envelope(fake_slack, "help", "after"), connection=second)
    fake_slack.wait_for_ack(envelope_id, timeout=5)
    assert "/lead route #my-leads" in fake_slack.wait_for_responses("after", timeout=5)[0]["text"]


# ---- the fake's Socket Mode side on its own ----------------------------------------------------


def test_apps_connections_open_takes_only_an_app_level_token(fake_slack):
    bot = WebClient(token="xoxb-test", base_url=fake_slack.url)
    with pytest.raises(SlackApiError) as refused:
        bot.apps_connections_open(app_token="xoxb-test")
    assert refused.value.response["error"] == "invalid_auth"
    app = WebClient(base_url=fake_slack.url)
    with pytest.raises(SlackApiError) as wrong_method:
        app.auth_test(token=APP_TOKEN)  # an app token is no bot token
    assert wrong_method.value.response["error"] == "invalid_auth"

    url = app.apps_connections_open(app_token=APP_TOKEN)["url"]
    assert url.startswith(fake_slack.socket_url + "?ticket=")
    fake_slack.valid_app_tokens = {"xapp-1-other"}
    with pytest.raises(SlackApiError) as unknown:
        app.apps_connections_open(app_token=APP_TOKEN)
    assert unknown.value.response["error"] == "invalid_auth"


def raw_handshake(url: str) -> tuple[str, socket.socket]:
    """Open a WebSocket by hand; return the status line and the socket."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.sendall(
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head.split(b"\r\n")[0].decode(), sock


def test_a_ticket_opens_one_connection(fake_slack):
    url = WebClient(base_url=fake_slack.url).apps_connections_open(app_token=APP_TOKEN)["url"]
    status, sock = raw_handshake(url)
    with sock:
        assert status == "HTTP/1.1 101 Switching Protocols"
        conn = fake_slack.wait_for_socket_client(timeout=5)
        again, sock2 = raw_handshake(url)
        sock2.close()
        assert again.split(" ")[1] == "401"
    wait_for(lambda: not conn.open, timeout=5)  # the client went away without a close frame


def test_fake_socket_says_hello_answers_pings_and_records_acks(fake_slack):
    messages: list[dict] = []
    got = threading.Event()
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=WebClient(base_url=fake_slack.url), auto_reconnect_enabled=False
    )

    def listener(c, message, raw):
        messages.append(message)
        if message.get("type") == "events_api":
            c.send_socket_mode_response({"envelope_id": message["envelope_id"], "payload": {"ok": 1}})
            got.set()

    client.message_listeners.append(listener)
    try:
        client.connect()
        conn = fake_slack.wait_for_socket_client(timeout=5)
        wait_for(lambda: messages, timeout=5)
        assert messages[0]["type"] == "hello" and messages[0]["num_connections"] == 1
        wait_for(lambda: conn.pings >= 1 and conn.pongs >= 1, timeout=5)
        wait_for(lambda: client.current_session.last_ping_pong_time, timeout=5)  # it read the fake's pong
        big = "x" * 70_000  # a 64-bit length frame
        envelope_id = fake_slack.socket_send({"type": "events_api", "payload": {"big": big}})
        assert got.wait(5)
        assert fake_slack.wait_for_ack(envelope_id, timeout=5) == {"envelope_id": envelope_id, "payload": {"ok": 1}}
        assert messages[-1]["payload"]["big"] == big
    finally:
        client.close()
    wait_for(lambda: not conn.open, timeout=5)
    assert fake_slack.socket_clients() == []


def test_a_refused_app_token_stops_startup_with_a_clear_error(slack_settings, fake_slack):
    from bot.config import ConfigError
    from bot.server import build

    fake_slack.valid_app_tokens = {"xapp-the-real-one"}
    with pytest.raises(ConfigError, match=r"SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)"):
        build(replace(slack_settings, slack_app_token="xapp-1-wrong"))


def test_socket_mode_needs_no_signing_secret():
    from bot.config import load_settings

    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "LEADBRIEF_DEFAULT_CHANNEL": "C0Q"},
                      dotenv=False)
    assert s.slack_signing_secret is None and s.slack_app_token == "xapp-1"
