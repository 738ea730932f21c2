"""Issue 19 end to end: an at-risk renewal's brief goes to the customer's CSM with the owner copied; a former
customer's win-back brief goes to the owner and counts only this episode. Through the signed webhook, the
delivery worker and the Slack fake."""

from __future__ import annotations

import time
from datetime import timedelta as d

from sqlalchemy import select

from storage.models import Delivery, Qualification
from tests.e2e.test_slack import events_now, send_webhook
from tests.support.live import wait_for


def helen_history(ev, renewal_in_days: int = 42):
    email = "helen.brandt@northwind.example"
    renewal = (ev.now + d(days=renewal_in_days)).date().isoformat()
    return [
        ev.upsert(email, d(days=400), first_name="Helen", last_name="Brandt", title="Head of Supply Chain",
                  company="Northwind Traders", owner_email="jane@ourco.example", is_customer=True,
                  customer_since="2022", nps=6, score=70),
        ev.visit(email, "https://ourco.example/docs/getting-started", d(days=40)),
        ev.activity(email, "email_open", d(days=20), subject="Your November product digest"),
        ev.activity(email, "web_visit", d(days=3), url="https://ourco.example/de/hilfe/vertrag-kuendigen",
                    properties={"page_title": "Vertrag kündigen – Hilfe"}),
        ev.activity(email, "web_visit", d(minutes=30), url="https://ourco.example/compare/ourco-vs-acmeforecast",
                    properties={"page_title": "OurCo vs AcmeForecast: an honest comparison"}),
        ev.upsert(email, d(minutes=2), score=112, renewal_date=renewal, arr="48000", currency="EUR",
                  plan="Enterprise", csm_email="Carla@OurCo.example"),
        ev.note(email, "Carla Csm", "Talk to me before anyone calls her: the Q3 outage is still open.",
                d(days=4)),
    ]


def test_an_at_risk_renewal_goes_to_the_csm_and_the_owner_gets_a_copy(http, slack_server, fake_slack):
    fake_slack.add_user("carla@ourco.example", "U0CARLA", "carla", real_name="Carla Csm")
    fake_slack.set_members("C0QUEUE", ["U0JANE", "U0OMAR", "U0MIA", "U0CARLA"])  # on the team ([access])
    result = send_webhook(http, slack_server, helen_history(events_now()))
    assert result["qualified"] == 1
    posts = fake_slack.wait_for("chat.postMessage", 2)
    by_channel = {p["channel"]: p for p in posts}
    assert set(by_channel) == {"U0CARLA", "U0JANE"}
    brief = str(by_channel["U0CARLA"]["blocks"])
    assert "Renewal at risk" in brief and "48,000" in brief and "OurCo vs AcmeForecast" in brief
    assert "NPS 6, detractor" in brief and "early for a buyer" not in brief
    copy = str(by_channel["U0JANE"]["blocks"])
    assert "Copy:" in copy and "carla@ourco.example" in copy and "Renewal at risk" in copy
    with slack_server.services.sessions() as s:
        q = s.scalars(select(Qualification)).one()
        assert (q.episode, q.deliver_to, q.copy_to) == ("at_risk", "carla@ourco.example", "jane@ourco.example")
        # The clock runs for the CSM, who has the brief; the copy starts nothing.
        wait_for(lambda: s.get(Qualification, q.id) and s.refresh(q) is None and q.rep_user == "U0CARLA")
        kinds = sorted(k for k in s.scalars(select(Delivery.kind)))
        assert kinds == ["brief", "copy"]


def test_without_a_csm_in_slack_the_at_risk_brief_goes_to_the_owner_alone(http, slack_server, fake_slack):
    send_webhook(http, slack_server, helen_history(events_now()))  # Carla is not in this workspace
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["channel"] == "U0JANE" and "Renewal at risk" in str(post["blocks"])

    def settled():
        with slack_server.services.sessions() as s:
            rows = {d.kind: (d.status, d.channel) for d in s.scalars(select(Delivery))}
        return rows if rows.get("copy", ("",))[0] == "sent" else None
    # The owner has the brief itself: the copy is settled without a second post.
    assert wait_for(settled)["copy"] == ("sent", "-")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_a_csm_outside_the_sales_team_never_gets_the_brief(http, slack_server, fake_slack):
    # Carla is in the workspace but not on the team [access] names (by default the leads channel's members):
    # no lead data goes to her; the owner gets the brief, and no copy of what they already have.
    fake_slack.add_user("carla@ourco.example", "U0CARLA", "carla", real_name="Carla Csm")
    send_webhook(http, slack_server, helen_history(events_now()))
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["channel"] == "U0JANE" and "Renewal at risk" in str(post["blocks"])
    time.sleep(0.5)
    assert [p["channel"] for p in fake_slack.calls_to("chat.postMessage")] == ["U0JANE"]


def test_a_talk_to_me_first_note_routes_the_brief_to_its_author_with_the_owner_copied(http, slack_server, fake_slack):
    from tests.e2e.test_slack import slash

    fake_slack.add_user("carla@ourco.example", "U0CARLA", "carla", real_name="Carla Csm")
    fake_slack.set_members("C0QUEUE", ["U0JANE", "U0OMAR", "U0MIA", "U0CARLA"])
    ev = events_now()
    email = "li.wei@contoso.example"
    send_webhook(http, slack_server, [ev.upsert(email, d(days=30), first_name="Li", last_name="Wei", company="Contoso",
                                                owner_email="jane@ourco.example", is_customer=True, score=40)])
    slash(http, slack_server, fake_slack, f"note {email} Bitte sprich zuerst mit mir, bevor jemand anruft: "
                                          "Eskalation offen.", user="U0CARLA", name="note")
    fake_slack.wait_for_responses("note")
    send_webhook(http, slack_server, [ev.upsert(email, d(minutes=1), score=130)])
    posts = fake_slack.wait_for("chat.postMessage", 2)
    by_channel = {p["channel"]: str(p["blocks"]) for p in posts}
    assert set(by_channel) == {"U0CARLA", "U0JANE"}
    assert "Talk to Carla Csm before any call" in by_channel["U0CARLA"]
    assert "Copy:" in by_channel["U0JANE"] and "who asked to be consulted before any call" in by_channel["U0JANE"]
