"""Their own words end to end: a forwarded, signed, disclaimed, entity-encoded demo request through the webhook
reaches Slack as a clean quote with its facts; "Show full message" opens the whole message in a modal, from the
message (with a response_url) and from a modal or the App Home (without one)."""

import json

from sqlalchemy import select

from briefs.blocks import ACTION_FULL_MESSAGE
from storage.models import Activity
from tests.e2e.test_followthrough import events_at, ft, home_opened  # noqa: F401
from tests.e2e.test_slack import click, events_now, send_webhook
from tests.support import comments as C
from tests.support.live import post_payload, wait_for

LONGER_FR = ("Nos équipes préparent environ 3 000 commandes par jour, avec de fortes pointes en fin de mois, et les "
             "inventaires tournants nous prennent trop de temps. Nous voulons aussi suivre les lots et les dates de "
             "péremption pour nos clients de la grande distribution.\n")


def button_of(post: dict) -> dict:
    block = next(b for b in post["blocks"] if b.get("block_id") == "brief_words_more")
    return block["elements"][0]


def test_a_forwarded_chain_is_briefed_as_a_clean_quote_with_facts_and_opens_in_full(http, slack_server, fake_slack):
    ev = events_now()
    email = "j.weber@brightforge.example"
    send_webhook(http, slack_server, [
        ev.upsert(email, first_name="Jonas", last_name="Weber", company="Brightforge GmbH",
                  owner_email="jane@ourco.example"),
        ev.form(email, "Request a Demo", C.FORWARDED_EN),
    ])
    post = fake_slack.wait_for("chat.postMessage")[0]
    words = next(b for b in post["blocks"] if b.get("block_id") == "brief_words")["text"]["text"]
    assert words.startswith("*In their own words (Request a Demo, from a forwarded email)*\n> I'm forwarding")
    for clutter in ("Subject", "Sent:", "Original Message", "CONFIDENTIALITY", "+49 711", "&amp;amp;", "&#39;"):
        assert clutter not in words, clutter
    assert "• *Budget:* EUR 120k — “Budget is around EUR 120k per year”" in words
    assert "• *Who decides:* “The final decision sits with our CFO and the VP Supply Chain”" in words
    assert "• *Call them:* Mon " in words and "09:00–11:00 CET" in words

    # Read once, at ingestion, and stored with the activity.
    with slack_server.services.sessions() as s:
        stored = s.scalars(select(Activity.words).where(Activity.kind == "form_submit")).one()
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored["language"] == "en" and stored["forwarded"] is True
    assert any(key == "incumbent" for key, _text, _value in stored["facts"])

    # From the message: the modal opens with the click's trigger.
    button = button_of(post)
    click(http, slack_server, fake_slack, ACTION_FULL_MESSAGE, button["value"], name="full")
    opened = fake_slack.wait_for("views.open")[0]
    assert opened["trigger_id"] == "2.3.trig" and opened["view"]["title"]["text"] == "Their message"
    body = json.dumps(opened["view"]["blocks"], ensure_ascii=False)
    assert "I am free Monday 9-11 CET for a call." in body and "Klaus" not in body
    assert "Left out: a quoted email, a signature" in body


def test_show_full_message_in_the_brief_opened_from_the_home_pushes_a_view(http, ft, fake_slack):  # noqa: F811
    ev = events_at(ft)
    email = "pierre@logifrance.example"
    send_webhook(http, ft, [
        ev.upsert(email, first_name="Pierre", last_name="Dubois", company="LogiFrance", owner_email="jane@ourco.example"),
        ev.form(email, "Contacter le service commercial", C.FRENCH.replace("Merci de me rappeler", LONGER_FR + "Merci de me rappeler")),
    ])
    assert ft.deliver() == 1
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert "*Language:* French" in json.dumps(post["blocks"], ensure_ascii=False)
    home_opened(http, ft)
    fake_slack.wait_for("views.publish")
    # The brief opened from the Home is a modal; a click in it carries no response_url.
    post_payload(http, ft, fake_slack.view_click("U0JANE", "lead_open"))
    modal_id = fake_slack.wait_for("views.update")[0]["view_id"]
    inner = fake_slack.view_click("U0JANE", ACTION_FULL_MESSAGE, view_id=modal_id)
    assert "response_url" not in inner
    post_payload(http, ft, inner)
    pushed = fake_slack.wait_for("views.push")[0]
    assert pushed["trigger_id"] == inner["trigger_id"]
    text = json.dumps(pushed["view"]["blocks"], ensure_ascii=False)
    assert "Merci de me rappeler en français le matin" in text and "Cordialement" not in text
    assert fake_slack.responses == []


def test_when_slack_will_not_open_the_modal_the_message_comes_by_dm(http, ft, fake_slack):  # noqa: F811
    ev = events_at(ft, "dm")
    email = "lucia@distsur.example"
    send_webhook(http, ft, [
        ev.upsert(email, first_name="Lucía", last_name="García", company="Distribuciones Sur",
                  owner_email="jane@ourco.example"),
        ev.form(email, "Solicitar una demo", C.SPANISH.replace("¿Podrían", LONGER_ES + "¿Podrían")),
    ])
    assert ft.deliver() == 1
    home_opened(http, ft)
    fake_slack.wait_for("views.publish")
    post_payload(http, ft, fake_slack.view_click("U0JANE", "lead_open"))
    modal_id = fake_slack.wait_for("views.update")[0]["view_id"]
    inner = fake_slack.view_click("U0JANE", ACTION_FULL_MESSAGE, view_id=modal_id)
    fake_slack.expire_trigger(inner["trigger_id"])
    post_payload(http, ft, inner)
    dm = wait_for(lambda: [p for p in fake_slack.calls_to("chat.postMessage")
                           if p["channel"] == "U0JANE" and p.get("text") == "Their message"])[0]
    text = json.dumps(dm["blocks"], ensure_ascii=False)
    assert "¿Podrían enviarnos una propuesta económica?" in text and "Saludos cordiales" not in text


LONGER_ES = ("Trabajamos con tres turnos y picos de pedidos en campaña de Navidad; el inventario lo hacemos a mano "
             "una vez al mes y perdemos mucho tiempo conciliando existencias entre almacenes y la tienda online. ")
