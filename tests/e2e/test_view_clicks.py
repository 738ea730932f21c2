"""Clicks on the App Home and in modals carry no response_url (the fake Slack builds them as Slack does, from the
view it holds): every listener they reach answers with a modal, the Home or a DM, never respond()."""

import json

import pytest
from sqlalchemy import select

from storage.models import Qualification
from tests.e2e.test_followthrough import ft, home_opened, one, post_hand_raiser, posts, text_of  # noqa: F401
from tests.support.live import post_payload, wait_for

BOLT_RESPOND_ERROR = "respond"  # Bolt's error when respond() has no response_url


def jane_home(http, server, fake) -> dict:
    post_hand_raiser(http, server, fake)
    home_opened(http, server)
    return fake.wait_for("views.publish")[-1]


def no_respond_errors(caplog):
    assert not [r for r in caplog.records if r.levelname == "ERROR" and BOLT_RESPOND_ERROR in r.getMessage()]


def test_open_brief_on_the_home_opens_the_brief_in_a_modal(http, ft, fake_slack, caplog):  # noqa: F811
    jane_home(http, ft, fake_slack)
    click = fake_slack.view_click("U0JANE", "lead_open")
    assert "response_url" not in click
    post_payload(http, ft, click)
    opened = fake_slack.wait_for("views.open")[0]
    assert opened["trigger_id"] == click["trigger_id"] and opened["view"]["type"] == "modal"
    brief = fake_slack.wait_for("views.update")[0]
    assert "Sam Rivera" in json.dumps(brief["view"]["blocks"]) and brief["view"]["type"] == "modal"
    assert fake_slack.responses == []
    no_respond_errors(caplog)


def test_open_brief_when_the_trigger_has_expired_comes_by_dm(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    click = fake_slack.view_click("U0JANE", "lead_open")
    fake_slack.expire_trigger(click["trigger_id"])
    post_payload(http, ft, click)
    dm = wait_for(lambda: [p for p in posts(fake_slack, channel="U0JANE") if "Sam Rivera" in text_of(p)
                           and p.get("thread_ts") is None][1:])[0]  # the first is the brief itself
    assert "lead_claim" not in text_of(dm) and not fake_slack.calls_to("conversations.open")


def test_open_brief_inside_a_modal_pushes_the_next_one(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    click = fake_slack.view_click("U0JANE", "lead_open")
    click["actions"][0]["value"] = "sam.rivera@globex.example"  # no such email: "did you mean…" with buttons
    post_payload(http, ft, click)
    modal_id = fake_slack.wait_for("views.open")[0] and fake_slack.wait_for("views.update")[0]["view_id"]
    assert "Did you mean" in json.dumps(fake_slack.views[modal_id]["blocks"])
    inner = fake_slack.view_click("U0JANE", "lead_open", view_id=modal_id)
    assert inner["view"]["type"] == "modal" and "response_url" not in inner
    post_payload(http, ft, inner)
    pushed = fake_slack.wait_for("views.push")[0]
    assert pushed["trigger_id"] == inner["trigger_id"]
    assert "Sam Rivera" in json.dumps(fake_slack.wait_for("views.update", 2)[1]["view"]["blocks"])


def test_not_a_fit_on_the_home_opens_its_form(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    post_payload(http, ft, fake_slack.view_click("U0JANE", "lead_not_a_fit"))
    form = fake_slack.wait_for("views.open")[0]["view"]
    assert form["callback_id"] == "not_a_fit_view"


@pytest.mark.parametrize("where", ["home", "modal"])
def test_not_a_fit_for_a_lead_that_is_gone_says_so_in_a_modal(http, ft, fake_slack, where):  # noqa: F811
    jane_home(http, ft, fake_slack)
    click = fake_slack.view_click("U0JANE", "lead_not_a_fit")
    click["actions"][0]["value"] = "999999"
    if where == "modal":
        click["view"]["type"] = "modal"
    post_payload(http, ft, click)
    method = "views.open" if where == "home" else "views.push"
    answer = fake_slack.wait_for(method)[0]
    assert answer["trigger_id"] == click["trigger_id"]
    assert "no longer exists" in json.dumps(answer["view"]["blocks"])


def test_not_a_fit_with_an_expired_trigger_tells_the_rep_by_dm(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    click = fake_slack.view_click("U0JANE", "lead_not_a_fit")
    fake_slack.expire_trigger(click["trigger_id"])
    post_payload(http, ft, click)
    wait_for(lambda: [p for p in posts(fake_slack, channel="U0JANE") if "press *Not a fit* again" in text_of(p)])


def test_a_claim_on_the_home_that_loses_the_race_says_who_won(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    click = fake_slack.view_click("U0JANE", "lead_claim")
    with ft.services.sessions.begin() as s:
        s.scalars(select(Qualification)).one().claimed_by = "U0OMAR"
    post_payload(http, ft, click)
    answer = fake_slack.wait_for("views.open")[0]
    assert "Already claimed by <@U0OMAR>" in json.dumps(answer["view"]["blocks"])
    wait_for(lambda: fake_slack.calls_to("views.publish")[1:])  # and the Home shows it


def test_a_claim_on_the_home_shows_on_the_home_without_a_modal(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    post_payload(http, ft, fake_slack.view_click("U0JANE", "lead_claim"))
    again = wait_for(lambda: fake_slack.calls_to("views.publish")[1:])[0]["view"]
    assert "Claimed by <@U0JANE>" in json.dumps(again["blocks"])
    assert one(ft, Qualification).claimed_by == "U0JANE" and not fake_slack.calls_to("views.open")


def test_reassign_on_the_home_to_an_outsider_is_refused_in_a_modal(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    fake_slack.add_user("sue@elsewhere.example", "U0SUE", "sue")
    post_payload(http, ft, fake_slack.view_click("U0JANE", "lead_reassign", selected="U0SUE"))
    answer = fake_slack.wait_for("views.open")[0]
    assert "not on the sales team" in json.dumps(answer["view"]["blocks"])
    assert one(ft, Qualification).rep_user == "U0JANE"


def test_an_outsider_clicking_on_a_home_is_refused_on_their_own_home(http, ft, fake_slack):  # noqa: F811
    jane_home(http, ft, fake_slack)
    fake_slack.add_user("eve@ourco.example", "U0EVE", "eve")
    post_payload(http, ft, fake_slack.view_click("U0EVE", "lead_open", view_id=fake_slack.homes["U0JANE"]))
    refusal = wait_for(lambda: [c for c in fake_slack.calls_to("views.publish") if c["user_id"] == "U0EVE"])[0]
    assert "only for the sales team" in json.dumps(refusal["view"]) and "Sam" not in json.dumps(refusal["view"])
    assert not fake_slack.calls_to("views.open") and not fake_slack.calls_to("views.update")
