"""`handlers.sources.marketo_sync`: pulling Marketo's activity log over a real HTTP fake of its REST API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from handlers.sources import marketo, marketo_sync
from handlers.sources.marketo_sync import SyncError, SyncResult, activity_event, form_fields, parse_time, sync
from storage import queries
from storage.models import Activity, Qualification
from tests.support.fake_marketo import FakeMarketo

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
JON, ANA, NOMAIL = 7, 8, 9
FORM_FIELDS = 'a:2:{s:5:"Email";s:16:"jon@acme.example";s:8:"Comments";s:26:"Need pricing for 200 seats";}'


@pytest.fixture
def fake():
    with FakeMarketo(client_id="id", client_secret="secret", page_size=2) as f:
        f.add_lead(JON, email="Jon@Acme.example", firstName="Jon", lastName="Doe", title="CTO", company="Acme",
                   leadScore=40, updatedAt="2026-11-23T09:00:00Z")
        f.add_lead(ANA, email="ana@beta.example", firstName="Ana", leadScore=None)
        f.add_lead(NOMAIL, email=None, firstName="Nobody")
        f.add_activity(JON, 1, "2026-11-23T08:00:00Z", primary="www.acme.example/pricing",
                       attributes={"Webpage URL": "/pricing", "Query Parameters": "utm_source=ads"})
        f.add_activity(ANA, 6, "2026-11-23T08:30:00+0000", primary="Nurture 1")
        f.add_activity(ANA, 7, "2026-11-23T08:31:00+0000", primary="Nurture 1")
        f.add_activity(ANA, 10, "2026-11-23T09:00:00Z", primary="Nurture 1")
        f.add_activity(ANA, 11, "2026-11-23T09:05:00+0000", primary="Nurture 1",
                       attributes={"Link": "https://acme.example/guide"})
        f.add_activity(NOMAIL, 1, "2026-11-23T09:10:00Z", primary="www.acme.example/")
        f.add_activity(JON, 46, "2026-11-23T09:20:00Z", primary="Web: visited pricing")
        f.add_activity(JON, 22, "2026-11-23T09:30:00+0000", primary="Lead Score",
                       attributes={"New Value": 55, "Old Value": 40, "Change Value": "+15"})
        f.add_activity(JON, 2, "2026-11-23T10:15:00+0000", primary="Contact Sales",
                       attributes={"Form Fields": FORM_FIELDS,
                                   "Referrer URL": "https://acme.example/contact"})
        yield f


@pytest.fixture
def marketo_settings(services, fake):
    return marketo.CONFIG.configure(services.settings, base_url=fake.url, client_id="id", client_secret="secret")


def run(settings, services, rules, **kw) -> SyncResult:
    kw.setdefault("now", NOW)
    kw.setdefault("sleep", lambda _s: None)
    return sync(settings, services.sessions, rules, SINCE, **kw)


def test_sync_stores_activities_leads_and_qualifies_hand_raiser(marketo_settings, services, rules, fake):
    seen: list[int] = []
    result = run(marketo_settings, services, rules, progress=lambda r: seen.append(r.pages))

    # 9 activities over 5 pages; ignored: the lead without email, the Interesting Moment.
    assert result.pages == 5 and seen == [1, 2, 3, 4, 5]
    assert result.ignored == 2
    # 6 activities + 1 score change + profiles: Jon's once (same updatedAt on pages 1, 4, 5), Ana's on pages
    # 1, 2, 3 (no updatedAt: keyed by her latest activity of the page).
    assert result.accepted == 7 + 1 + 3
    assert result.duplicates == 0 and result.qualified == 1
    assert result.next_page_token == "T9"

    with services.sessions() as session:
        jon = queries.find_lead(session, "jon@acme.example")
        assert (jon.first_name, jon.last_name, jon.title, jon.company) == ("Jon", "Doe", "CTO", "Acme")
        assert jon.score == 55  # Change Score New Value, newer than the profile's updatedAt
        acts = {a.kind: a for a in queries.activity_views(session, jon.id)}
        assert set(acts) == {"web_visit", "form_submit"}
        assert acts["web_visit"].url == "www.acme.example/pricing"
        assert acts["web_visit"].occurred_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        form = acts["form_submit"]
        assert form.form == "Contact Sales" and form.comments == "Need pricing for 200 seats"
        assert form.occurred_at == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
        ana = queries.find_lead(session, "ana@beta.example")
        kinds = sorted((a.kind, a.subject, a.url) for a in queries.activity_views(session, ana.id))
        assert kinds == [("email_click", "Nurture 1", "https://acme.example/guide"),
                         ("email_delivered", "Nurture 1", None), ("email_open", "Nurture 1", None),
                         ("email_sent", "Nurture 1", None)]
        q = session.scalars(select(Qualification)).all()
        assert [(x.lead_id, x.reason) for x in q] == [(jon.id, "hand_raiser")]
        assert session.scalar(select(func.count()).select_from(Activity)) == 6

    tokens = fake.calls_to("/identity/oauth/token")
    assert len(tokens) == 1
    leads_call = fake.calls_to("/rest/v1/leads.json")[0]["query"]
    assert leads_call["filterType"] == "id" and "leadScore" in leads_call["fields"]
    assert fake.calls_to("/rest/v1/activities.json")[0]["query"]["activityTypeIds"] == "1,2,6,7,10,11,22,46"


def test_second_sync_over_same_window_is_duplicates_only(marketo_settings, services, rules):
    first = run(marketo_settings, services, rules)
    again = run(marketo_settings, services, rules)
    assert again.accepted == 0 and again.qualified == 0
    assert again.duplicates == first.accepted and again.ignored == first.ignored
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 6
        assert session.scalar(select(func.count()).select_from(Qualification)) == 1


def test_resume_from_returned_token_sees_only_new_activities(marketo_settings, services, rules, fake):
    first = run(marketo_settings, services, rules)
    fake.add_activity(ANA, 2, "2026-11-23T11:00:00Z", primary="Newsletter signup")
    later = run(marketo_settings, services, rules, page_token=first.next_page_token)
    assert later.pages == 1 and later.accepted == 2 and later.duplicates == 0 and later.qualified == 0


def test_expired_token_reauthenticates_and_rate_limit_waits(marketo_settings, services, rules, fake):
    fake.expire_token()
    fake.rate_limit()
    waits: list[float] = []
    result = run(marketo_settings, services, rules, sleep=waits.append)
    assert result.pages == 5 and result.qualified == 1
    assert waits == [marketo_sync.RATE_LIMIT_WAIT]
    assert len(fake.calls_to("/identity/oauth/token")) == 2
    # Every API call after the re-authentication carries the new token.
    auths = [c["authorization"] for c in fake.calls if c["path"] != "/identity/oauth/token"]
    assert len(set(auths[1:])) == 1 and auths[0] != auths[1]


def test_token_rejected_twice_raises(marketo_settings, services, rules, fake):
    fake.expire_token()
    fake.fail("601", "Access token invalid")
    with pytest.raises(SyncError, match="601") as info:
        run(marketo_settings, services, rules)
    assert info.value.code == "601" and info.value.result.pages == 0


def test_hard_error_mid_way_keeps_earlier_pages_and_names_code(marketo_settings, services, rules, fake):
    calls = []

    def progress(r):
        calls.append(r.pages)
        if r.pages == 2:
            fake.fail("1029", "Too many jobs in queue")

    with pytest.raises(SyncError, match=r"Marketo error 1029: Too many jobs in queue") as info:
        run(marketo_settings, services, rules, progress=progress)
    partial = info.value.result
    assert partial.pages == 2 and partial.next_page_token == "T4" and partial.accepted > 0
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 4
    # Resuming from the token finishes the job without duplicating the first two pages.
    rest = run(marketo_settings, services, rules, page_token=partial.next_page_token)
    assert rest.pages == 3 and rest.qualified == 1
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 6


def test_bad_credentials_and_missing_settings(marketo_settings, services, rules):
    with pytest.raises(SyncError, match="Bad client credentials"):
        run(marketo.CONFIG.configure(marketo_settings, client_secret="wrong"), services, rules)
    with pytest.raises(SyncError, match="MARKETO_CLIENT_ID"):
        run(marketo.CONFIG.configure(marketo_settings, client_id=None), services, rules)


def test_rate_limit_that_never_lifts_raises(marketo_settings, services, rules, fake):
    for _ in range(marketo_sync.RATE_LIMIT_RETRIES + 1):
        fake.rate_limit()
    waits: list[float] = []
    with pytest.raises(SyncError, match="606"):
        run(marketo_settings, services, rules, sleep=waits.append)
    assert len(waits) == marketo_sync.RATE_LIMIT_RETRIES


# --- mapping, without HTTP --------------------------------------------------------------------------


def test_unknown_types_are_ignored():
    base = {"id": 5, "leadId": 1, "activityDate": "2026-11-23T10:15:00Z"}
    assert activity_event({**base, "activityTypeId": 46, "primaryAttributeValue": "x"}, "a@b.example") is None
    assert activity_event({**base, "activityTypeId": 13, "primaryAttributeValue": "Status"}, "a@b.example") is None
    # A Change Score of another score field is not the lead score.
    other = {**base, "activityTypeId": 22, "primaryAttributeValue": "Behavior Score",
             "attributes": [{"name": "New Value", "value": "12"}]}
    assert activity_event(other, "a@b.example") is None


def test_both_date_formats():
    assert parse_time("2026-11-23T10:15:00Z") == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert parse_time("2026-11-23T10:15:00+0000") == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert parse_time("2026-11-23T12:15:00+0200") == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert parse_time("not a date") is None
    event = activity_event({"marketoGUID": "g-1", "leadId": 1, "activityDate": "2026-11-23T10:15:00-0500",
                            "activityTypeId": 10, "primaryAttributeValue": "Welcome"}, "a@b.example")
    assert event["id"] == "g-1" and event["occurred_at"] == datetime(2026, 11, 23, 15, 15, tzinfo=UTC)


def test_form_fields_json_and_php():
    assert form_fields('{"Comments": "hi"}') == {"Comments": "hi"}
    assert form_fields('a:2:{s:5:"Email";s:5:"a@b.c";s:3:"Age";i:42;}') == {"Email": "a@b.c", "Age": 42}
    assert form_fields('a:1:{s:8:"Comments";s:5:"caf\u00e9";}') == {"Comments": "caf\u00e9"}
    assert form_fields("") == {}


def test_sync_command_reports_counts_and_a_resume_token(run, db_url):
    with FakeMarketo(client_id="id", client_secret="secret", page_size=2) as f:
        f.add_lead(7, email="kim@hooli.example", firstName="Kim")
        for minute in range(5):
            f.add_activity(7, 10, f"2026-11-23T09:0{minute}:00Z", primary=f"Mail {minute}")
        env = {"MARKETO_BASE_URL": f.url, "MARKETO_CLIENT_ID": "id", "MARKETO_CLIENT_SECRET": "secret"}
        ok = run("sync", "marketo", "--since", "2026-11-23", "--quiet", env=env, check_rc=0)
        assert "accepted 8, duplicates 0, ignored 0, pages 3" in ok.stdout  # 5 opens, one profile per page
        assert run("sync", "marketo", "--since", "yesterday", env=env, check_rc=2).stderr.startswith(
            "error: --since 'yesterday' is not a date")
        f.add_activity(7, 10, "2026-11-23T10:00:00Z", primary="Mail 9")
        f.fail("1029", "Too many jobs in queue")
        failed = run("sync", "marketo", "--since", "2026-11-23", "--quiet", env=env, check_rc=1)
        assert "Marketo error 1029: Too many jobs in queue" in failed.stderr
        missing = run("sync", "marketo", "--since", "2026-11-23", check_rc=1)
        assert "MARKETO_BASE_URL" in missing.stderr
