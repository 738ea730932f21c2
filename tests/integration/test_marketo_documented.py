"""`leadbrief sync marketo` against Marketo's documented REST responses (tests/fixtures/marketo/rest, see
SOURCES.md), served as they are by the fake Marketo on loopback: paging token, pages of activities with
nextPageToken and moreResult (one page empty), leads by id; one unreadable activity is skipped and counted,
not its page."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.sources import marketo, marketo_sync
from storage import queries
from storage.models import Activity, Qualification
from tests.support.fake_marketo import FakeMarketo

REST = Path(__file__).parent.parent / "fixtures" / "marketo" / "rest"
NOW = datetime(2023, 1, 17, 0, 0, tzinfo=UTC)


def documented(name: str) -> dict:
    return json.loads((REST / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def fake():
    with FakeMarketo(client_id="id", client_secret="secret") as f:
        f.serve_documented(documented("paging_token"),
                           [documented("activities_page1"), documented("activities_page2_empty"),
                            documented("activities_page3")],
                           documented("leads_by_id"), documented("activity_types"))
        yield f


def run(fake, services, rules, **kw):
    settings = marketo.CONFIG.configure(services.settings, base_url=fake.url, client_id="id",
                                        client_secret="secret")
    return marketo_sync.sync(settings, services.sessions, rules, datetime(2023, 1, 16, tzinfo=UTC), now=NOW,
                             sleep=lambda _s: None, **kw)


def test_the_documented_pages_are_read_to_the_end_and_a_bad_activity_costs_only_itself(fake, services, rules,
                                                                                          caplog):
    caplog.set_level(logging.WARNING, "handlers.sources.marketo_sync")
    result = run(fake, services, rules)
    # Page 1: a visit and Ana's profile; page 2: nothing (moreResult still true); page 3: the form, Chidi's
    # profile; his open without an activityDate is skipped, his Interesting Moment ignored.
    assert (result.pages, result.accepted, result.ignored, result.skipped) == (3, 4, 1, 1)
    assert result.qualified == 1
    assert result.next_page_token == documented("activities_page3")["nextPageToken"]
    assert "Marketo activity 103002 skipped: activityDate: is not a date-time" in caplog.text

    # The documented tokens (base32 with '=' padding) went back to Marketo unchanged.
    asked = [c["query"]["nextPageToken"] for c in fake.calls_to("/rest/v1/activities.json")]
    assert asked == [documented("paging_token")["nextPageToken"], documented("activities_page1")["nextPageToken"],
                     documented("activities_page2_empty")["nextPageToken"]]
    leads_asked = fake.calls_to("/rest/v1/leads.json")
    assert [c["query"]["filterValues"] for c in leads_asked] == ["318581", "318581,318592"]

    with services.sessions() as session:
        ana = queries.find_lead(session, "ana.ruiz@example.com")
        assert (ana.first_name, ana.last_name) == ("Ana", "Ruiz")
        acts = {a.kind: a for a in queries.activity_views(session, ana.id)}
        # "Webpage URL" is relative (/munchkintest2.html): the primary attribute is the page.
        assert acts["web_visit"].url == "localhost/munchkintest2.html"
        assert acts["web_visit"].occurred_at == datetime(2023, 1, 16, 23, 32, 19, tzinfo=UTC)
        form = acts["form_submit"]
        assert form.form == "Contact Sales"
        assert form.comments == ('We have "legacy" ERP; need pricing for ~120 seats & SSO.\n'
                                 "Call after 3pm CET, über Teams ok")
        assert form.url == "https://www.example.com/contact-sales"
        assert form.properties["marketo_webform_id"] == 1042
        assert queries.find_lead(session, "chidi.okafor@example.com").first_name == "Chidi"
        assert session.scalar(select(func.count()).select_from(Activity)) == 2
        assert [q.reason for q in session.scalars(select(Qualification))] == ["hand_raiser"]

    again = run(fake, services, rules)
    assert (again.accepted, again.duplicates, again.skipped) == (0, 4, 1)


def test_a_page_whose_result_holds_a_non_object_stores_the_rest(fake, services, rules):
    page = documented("activities_page1")
    page["result"].append("not an activity")
    page["moreResult"] = False
    fake.documented_pages = {documented("paging_token")["nextPageToken"]: page}
    result = run(fake, services, rules)
    assert (result.pages, result.accepted, result.skipped) == (1, 2, 1)


def test_our_type_mapping_reads_the_attributes_the_documented_type_defines():
    (form_type,) = documented("activity_types")["result"]
    assert form_type["id"] == 2 and marketo_sync.KINDS[2] == "form_submit"
    assert form_type["primaryAttribute"]["name"] == "Webform ID"  # primaryAttributeValueId: the form's id
    names = {a["name"].lower() for a in form_type["attributes"]}
    assert {"form fields", "referrer url"} <= names  # what activity_event reads for a form
    assert all(t in marketo_sync.ACTIVITY_TYPE_IDS for t in marketo_sync.KINDS)
    assert len(marketo_sync.ACTIVITY_TYPE_IDS) <= 10  # Marketo takes up to ten activityTypeIds


def test_a_synced_form_fill_reaches_slack_with_the_leads_words(slack_settings, fake_slack, fake, rules):
    from tests.support.live import LiveServer

    # The documented pages, moved to the last minutes (qualification looks at recent activity).
    now = datetime.now(UTC).replace(microsecond=0)
    for page in fake.documented_pages.values():
        for n, activity in enumerate(page.get("result", [])):
            if "activityDate" in activity:
                activity["activityDate"] = (now - timedelta(minutes=10 - n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake.leads[318581]["leadScore"] = 62
    settings = marketo.CONFIG.configure(slack_settings, base_url=fake.url, client_id="id", client_secret="secret")
    with LiveServer(settings) as server:
        result = marketo_sync.sync(settings, server.services.sessions, rules, now - timedelta(hours=1),
                                   sleep=lambda _s: None)
        assert result.qualified == 1
        server.services.wake_delivery()
        post = fake_slack.wait_for("chat.postMessage")[0]
    text = json.dumps(post["blocks"], ensure_ascii=False)
    assert 'We have \\"legacy\\" ERP; need pricing for' in text and "über Teams ok" in text
    assert "Contact Sales" in text and "Ana Ruiz" in text and "62" in text
