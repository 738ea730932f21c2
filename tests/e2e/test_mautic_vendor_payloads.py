"""Mautic's own WebhookPayload samples (tests/fixtures/mautic/vendor, see SOURCES.md), delivered as Mautic
delivers them and signed as Mautic signs them, over real HTTP: each is accepted as sent, and what they carry
reaches the brief posted to (fake) Slack, owner resolved through (fake) Mautic's users API."""

import base64
import copy
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.sources import mautic
from storage.models import Activity
from storage.queries import find_lead
from tests.support.fake_mautic import FakeMautic
from tests.support.live import LiveServer

VENDOR = Path(__file__).parent.parent / "fixtures" / "mautic" / "vendor"
SECRET = "mautic-webhook-secret-0123456789"
LENA = "lena.vogt@example.com"


def vendor(name: str):
    return json.loads((VENDOR / f"{name}.json").read_text(encoding="utf-8"))


def signature(body: bytes) -> str:
    # Mautic's WebhookBundle Http\Client: base64_encode(hash_hmac('sha256', $payload, $secret, true)).
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def deliver(http, server, payload: dict):
    body = json.dumps(payload).encode()
    return http.post(f"{server.url}/webhooks/mautic", content=body,
                     headers={"Content-Type": "application/json", "Webhook-Signature": signature(body)})


def test_payload(name: str) -> dict:
    """What "Send Test Payload" (AjaxController::sendHookTestAction) posts: the sample under its event type,
    plus a top-level timestamp."""
    return {f"mautic.{name}": vendor(name), "timestamp": "2026-03-02T10:00:00+00:00"}


test_payload.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def server(settings):
    mautic.forget_owners()
    with LiveServer(mautic.CONFIG.configure(settings, secret=SECRET)) as s:
        yield s


@pytest.mark.parametrize(("name", "summary"), [
    ("lead_post_save_new", {"accepted": 1, "duplicates": 0, "qualified": 0}),
    ("form_on_submit", {"accepted": 1, "duplicates": 0, "qualified": 0}),
    ("page_on_hit", {"accepted": 1, "duplicates": 0, "qualified": 0}),
    ("email_on_open", {"accepted": 1, "duplicates": 0, "qualified": 0}),
])
def test_each_sample_is_accepted_as_mautic_sends_it(http, server, name, summary):
    r = deliver(http, server, test_payload(name))
    assert r.status_code == 202, r.text
    assert r.json() == summary
    assert deliver(http, server, test_payload(name)).json()["duplicates"] == 1


def test_the_samples_carry_what_mautic_sent(http, server):
    for name in ("lead_post_save_new", "form_on_submit", "page_on_hit", "email_on_open"):
        assert deliver(http, server, test_payload(name)).status_code == 202
    with server.services.sessions() as s:
        lead = find_lead(s, LENA)
        assert (lead.first_name, lead.last_name, lead.score) == ("Lena", "Vogt", 0)
        assert lead.owner_email is None  # the owner object has no email, and nothing maps it here
        acts = {a.kind: a for a in s.scalars(select(Activity))}
        assert acts["form_submit"].form == "lead points"
        assert acts["form_submit"].url == "http://mautic-gh.com/s/forms/preview/4"
        assert acts["web_visit"].url == "http://mautic-gh.com/index_dev.php/pagehit"
        assert acts["web_visit"].properties == {"page_title": "PageHit"}  # urlTitle is null: the page's title
        assert acts["email_open"].subject == "Email"
        assert acts["email_open"].occurred_at.replace(tzinfo=UTC) == datetime(2015, 8, 26, 1, 35, 53, tzinfo=UTC)


def batched(now: datetime) -> dict:
    """A background-queue delivery as WebhookModel::getWebhookPayload builds one: events keyed by type, each
    item the queued payload plus its queue timestamp ('c' format), in the order they were queued.

    Changed from the samples, to make one lead that qualifies today: dates moved to the last minutes; the
    contact given 40 points and the stage MQL; the form named as an admin names a hand-raiser form and
    answered with a custom textarea (German alias) and a number of sites; the page hit given a title. The owner is the sample's (id 1, username admin)."""
    ago = [(now - timedelta(minutes=m)).replace(microsecond=0).isoformat() for m in (9, 6, 5, 3)]
    contact = vendor("lead_post_save_new")[0]
    contact["contact"]["points"] = 40
    contact["contact"]["stage"] = {"id": 2, "name": "MQL", "weight": 20, "description": None}
    contact["timestamp"] = ago[0]
    update = copy.deepcopy(contact)
    update["contact"]["dateModified"] = ago[1]
    update["contact"]["fields"]["core"]["position"]["value"] = "Leiterin Logistik"
    update["contact"]["fields"]["core"]["company"]["value"] = "Vogt & Söhne Spedition"
    update["timestamp"] = ago[1]
    form = vendor("form_on_submit")
    form["submission"]["form"].update(name="Request a demo", alias="requestade")
    form["submission"]["dateSubmitted"] = ago[2]
    form["submission"]["results"].update({
        "projektbeschreibung": "Wir suchen eine Lösung für 14 Lager; <b>bitte</b> Rückruf diese Woche.\n"
                               "Budget ist freigegeben.",
        "anzahl_standorte": "14",
    })
    form["timestamp"] = ago[2]
    hit = vendor("page_on_hit")
    hit["hit"]["dateHit"] = ago[3]
    hit["hit"]["urlTitle"] = "Preise | Acme Widgets"
    hit["hit"]["url"] = "https://www.acmewidgets.example/de/preise"
    hit["timestamp"] = ago[3]
    return {"mautic.lead_post_save_new": [contact], "mautic.lead_post_save_update": [update],
            "mautic.form_on_submit": [form], "mautic.page_on_hit": [hit]}


def posted_text(call: dict) -> str:
    return json.dumps(call["blocks"], ensure_ascii=False)


def test_a_batched_delivery_makes_a_brief_with_what_it_carries_sent_to_the_owner(http, slack_settings, fake_slack):
    with FakeMautic(username="leadbrief-api", password="api-pass-1234") as api:
        api.add_user(1, "jane@ourco.example", username="admin", first="Jane", last="Rep")
        settings = mautic.CONFIG.configure(slack_settings, secret=SECRET, base_url=api.url,
                                           api_username="leadbrief-api", api_password="api-pass-1234")
        mautic.forget_owners()
        with LiveServer(settings) as server:
            r = deliver(http, server, batched(datetime.now(UTC)))
            assert r.status_code == 202, r.text
            assert r.json() == {"accepted": 4, "duplicates": 0, "qualified": 1}
            with server.services.sessions() as s:
                assert find_lead(s, LENA).owner_email == "jane@ourco.example"
            post = fake_slack.wait_for("chat.postMessage")[0]
            text = posted_text(post)
            assert post["channel"] == "U0JANE"  # owner id 1 -> jane@ourco.example -> her Slack user
            # The lead's text is data, not markup: the form's HTML tags read as the text they wrap.
            assert "14 Lager; bitte Rückruf" in text and "<b>" not in text and "&lt;b&gt;" not in text
            assert "Wir suchen eine Lösung für 14 Lager" in text and "Budget ist freigegeben" in text
            assert "Preise | Acme Widgets" in text
            assert "MQL" in text and "40" in text
            assert "Leiterin Logistik" in text and "Vogt & Söhne Spedition" in text
            assert "Unassigned" not in text
            # The owner was asked for once, with Mautic's basic auth.
            assert [c["path"] for c in api.calls] == ["/api/users/1"]
            assert api.calls[0]["authorization"] == "Basic " + base64.b64encode(
                b"leadbrief-api:api-pass-1234").decode()
            with server.services.sessions() as s:
                form = next(a for a in s.scalars(select(Activity)) if a.kind == "form_submit")
                assert form.properties["anzahl_standorte"] == "14"
                assert "projektbeschreibung" not in form.properties


def test_when_the_users_api_fails_the_lead_is_stored_without_owner_and_goes_to_the_queue(
        http, slack_settings, fake_slack, caplog):
    with FakeMautic(token="oauth2-access-token") as api:
        api.fail(500)
        settings = mautic.CONFIG.configure(slack_settings, secret=SECRET, base_url=api.url,
                                           access_token="oauth2-access-token")
        mautic.forget_owners()
        caplog.set_level(logging.WARNING, "leadbrief.mautic")
        with LiveServer(settings) as server:
            r = deliver(http, server, batched(datetime.now(UTC)))
            assert r.status_code == 202 and r.json()["qualified"] == 1
            post = fake_slack.wait_for("chat.postMessage")[0]
            assert "Unassigned queue:* no owner in the CRM" in posted_text(post)
            with server.services.sessions() as s:
                assert find_lead(s, LENA).owner_email is None
        # Asked once for the delivery (both contact items share the owner), not once per item.
        assert len(api.calls) == 1
        assert "owner 1 not resolved, lead stored without owner: answered HTTP 500" in caplog.text
        assert "oauth2-access-token" not in caplog.text
