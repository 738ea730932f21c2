"""Slack assembly: the Bolt app, its authorisation middleware, signed HTTP requests and Socket Mode."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.config import ConfigError
from bot.gateway import AccessControl, error_code
from bot.usecases import access as access_cases
from bot.usecases.deps import Services
from briefs.events import load_json

log = logging.getLogger("leadbrief.slack")

MAX_BODY = 1024 * 1024
SIGNATURE_TOLERANCE = 300  # seconds, as Slack's own verifier


def verify_app_token(client: WebClient, app_token: str) -> None:
    """Socket Mode needs an app-level token with connections:write; say so before starting, not in a traceback."""
    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise ConfigError(
            f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')}); "
            "expected an app-level token with the connections:write scope"
        ) from None


def verify_token(client: WebClient) -> dict:
    try:
        return client.auth_test().data
    except SlackApiError as exc:
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')}); check the token") from None


def create_bolt_app(services: Services, client: WebClient) -> App:
    from handlers import actions, commands, events

    settings = services.settings
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # Socket Mode traffic is authenticated by the connection itself; HTTP requests always are verified.
        request_verification_enabled=not settings.slack_app_token,
        # verify_token has already checked the token with a clear error; this lets Bolt keep the auth.test
        # answer from startup instead of asking Slack before the first request's ack.
        token_verification_enabled=True,
        listener_executor=services.slack.executor,
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def attach_services(context, next):  # noqa: A002 - Bolt's name
        context["services"] = services
        next()

    @app.middleware
    def ignore_redelivered_events(body, context, next):  # noqa: A002
        # Slack redelivers an event it thinks we missed (X-Slack-Retry-Num); each event_id acts once.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not context.get(AUTHORISED) and not access_cases.first_delivery(services, event_id):
            return BoltResponse(status=200, body="")
        next()

    @app.middleware
    def authorise(req, body, context, next):  # noqa: A002
        # Every listener is behind this: lead data only for the people [access] names (docs/security.md).
        # It answers from the cache at once and never calls Slack, so that Slack gets its ack in time.
        access = services.slack.access
        user = _user_of(body)
        if user is None:
            return _unattributable(services, body)
        if access is None or context.get(AUTHORISED) == user:
            next()
            return None
        allowed = access.decide(user)
        if allowed is None and body.get("type") == "view_submission":
            # Its ack carries the form's errors, so it is worth up to 2 of Slack's 3 seconds: wait for the
            # read already under way (no call to Slack here).
            access.allows(user, timeout=2.0)
            allowed = access.decide(user)
        if allowed:
            next()
            return None
        if allowed is False:
            return _refuse(services, body, user, access)
        # Slack has not said yet who is on the team (a cold cache may be many pages away): ack now, and
        # carry the request out, or refuse it, once it has.
        services.slack.deferred.submit(_decide_later, services, app, req, user)
        return BoltResponse(status=200, body="")

    commands.register(app)
    actions.register(app)
    events.register(app)
    return app


AUTHORISED = "leadbrief_authorised"  # context key: the person a deferred request was let in for
# Interaction payloads that carry the person who acted as user.id; anything else must be a command or event.
_INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")


def _user_of(body: dict) -> str | None:
    """Who sent a request; None when it cannot be told (then it is refused: deny by default)."""
    user = None
    if body.get("command"):
        user = body.get("user_id")
    elif body.get("type") in _INTERACTIONS:
        user = body.get("user")
        user = user.get("id") if isinstance(user, dict) else None
    elif body.get("type") == "event_callback":
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        bot = event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message"
        user = None if bot else event.get("user")
    return user if isinstance(user, str) and user else None


def _what(body: dict) -> str:
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    return str(body.get("command") or event.get("type") or body.get("type") or "request")[:60]


def _unattributable(services: Services, body: dict) -> BoltResponse:
    """A request from a bot, or of a kind we do not expect: nobody to let in, so nothing happens."""
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    actor = f"bot:{event['bot_id']}" if isinstance(event.get("bot_id"), str) else "unknown"
    log.info("refused a Slack request with no person to attribute it to (%s)", _what(body))
    access_cases.record_denied(services, actor, _what(body))
    return BoltResponse(status=200, body="")


def _refusal(access: AccessControl) -> str:
    return f"Sorry, lead briefs are only for the sales team. To get access, {access.where()}."


def _refuse(services: Services, body: dict, user: str, access: AccessControl) -> BoltResponse:
    """A polite refusal, visible to that person only, that says nothing about any lead. Anything that needs a
    call to Slack is sent after the ack."""
    text = _refusal(access)
    access_cases.record_denied(services, user, _what(body))
    if body.get("command"):
        return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                            headers={"content-type": "application/json"})
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": {"reason": text}}),
                            headers={"content-type": "application/json"})
    services.slack.deferred.submit(_tell_refused, services, body, user, text)
    return BoltResponse(status=200, body="")


def _tell_refused(services: Services, body: dict, user: str, text: str) -> None:
    """Where the person will see it: the conversation (response_url), their App Home, else a DM."""
    client = services.slack.client
    event = body.get("event") if isinstance(body.get("event"), dict) else {}
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    try:
        if body.get("response_url"):
            WebhookClient(body["response_url"]).send(text=text, response_type="ephemeral", replace_original=False)
        elif event.get("type") == "app_home_opened" or view.get("type") == "home":
            client.views_publish(user_id=user, view={"type": "home", "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}}]})
        elif body.get("type") != "view_closed":
            client.chat_postMessage(channel=user, text=text)
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell %s they have no access: %s", user, error_code(exc))


def _decide_later(services: Services, app: App, req: BoltRequest, user: str) -> None:
    """A request acked before Slack had said who is on the team: run it through the app again once it has,
    or refuse it (still unknown after AccessControl.WAIT counts as refused)."""
    access = services.slack.access
    body = req.body
    try:
        if not access.allows(user):
            # Still unknown after the wait (Slack slow or down) is refused too, but says so.
            text = _refusal(access) if access.decide(user) is False else (
                "Sorry, I could not check that you are on the sales team just now (Slack did not say in time). "
                "Please try again in a minute.")
            access_cases.record_denied(services, user, _what(body))
            _tell_refused(services, body, user, text)
            return
        app.dispatch(BoltRequest(body=req.raw_body if req.mode == "http" else body, query=req.query,
                                 headers=req.headers, context={AUTHORISED: user}, mode=req.mode))
    except Exception as exc:  # noqa: BLE001 - a worker thread: log it, and the next request tries again
        log.warning("a deferred Slack request (%s) failed: %s", _what(body), error_code(exc))


def signed_by_slack(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Slack's v0 request signature, checked on the raw bytes (slack_sdk's verifier decodes the body first, and
    raises on a body that is not UTF-8 or a timestamp that is not a number)."""
    timestamp = headers.get("x-slack-request-timestamp", "").strip()
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE:
        return False
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={mac}".encode(), headers.get("x-slack-signature", "").strip().encode())


def refused(headers: dict[str, str], body: bytes, secret: str, now: float) -> tuple[int, str] | None:
    """(status, error) for a request Bolt must not see, or None. Checked before anything parses the body:
    one Slack did not sign is a 401 whatever it holds; a signed one Bolt could not parse (not UTF-8, not
    JSON where JSON is due, nested too deeply, not an object) is a 400, never an exception."""
    if not signed_by_slack(secret, headers, body, now):
        return 401, "invalid request"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "body is not UTF-8"
    # Where Bolt reads JSON (slack_bolt.request.internals.parse_body): a JSON body, or a form's payload field.
    if headers.get("content-type") == "application/json" or text.startswith("{"):
        what, document = "body", text
    elif "payload" in text:
        what, document = "payload", dict(parse_qsl(text, keep_blank_values=True)).get("payload")
    else:
        return None
    if document is None:
        return None
    try:
        parsed = load_json(document)
    except ValueError as exc:
        return 400, f"{what} is not valid JSON: {exc}"
    # Bolt reads these with .get() and len() before any listener runs: another shape is an exception there.
    if not isinstance(parsed, dict):
        return 400, f"{what} must be a JSON object, got {type(parsed).__name__}"
    if not isinstance(parsed.get("event", {}), dict):
        return 400, f"{what}: event must be a JSON object"
    authorizations = parsed.get("authorizations", [])
    if not (isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)):
        return 400, f"{what}: authorizations must be a list of JSON objects"
    return None


def register_http(web: Starlette, bolt_app: App, signing_secret: str) -> None:
    """POST /slack/events: commands, interactivity and events, dispatched off the event loop."""

    async def slack_events(request: Request):
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": "body too large"}, status_code=413)
        problem = refused({k.lower(): v for k, v in request.headers.items()}, body, signing_secret, time.time())
        if problem:
            return JSONResponse({"error": problem[1]}, status_code=problem[0])
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    web.add_route("/slack/events", slack_events, methods=["POST"])


def start_socket_mode(bolt_app: App, app_token: str):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(bolt_app, app_token)
    handler.connect()  # returns at once; the client runs on its own threads
    return handler
