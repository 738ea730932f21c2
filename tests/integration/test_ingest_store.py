"""storage.ingest persists; which leads it reads whole (for the rules) is the domain's answer."""

from datetime import timedelta

from briefs import signals
from storage import ingest as store
from storage import queries
from tests.support.factories import NOW, Events, parsed


def write(services, events):
    with services.sessions.begin() as s:
        return store.write(s, parsed(events), NOW)


def test_a_prospects_page_views_need_no_lead_row(services):
    ev = Events()
    written = write(services, [ev.visit("ann@acme.example", "https://acme.example/pricing", timedelta(hours=1))])
    assert (written.accepted, written.duplicates, written.leads) == (1, 0, [])


def test_forms_profile_changes_and_explicit_qualifications_read_the_lead(services):
    ev = Events()
    written = write(services, [
        ev.form("ann@acme.example", "Contact Sales"),
        ev.upsert("sam@acme.example", score=10),
        ev.qualified("kim@acme.example", "manual"),
        ev.note("lee@acme.example", "jane", "met at the fair"),
    ])
    assert written.accepted == 4
    by_email = {lead.change.lead.email: lead for lead in written.leads}
    assert set(by_email) == {"ann@acme.example", "sam@acme.example", "kim@acme.example"}
    assert [a.kind for a in by_email["ann@acme.example"].change.new_activities] == ["form_submit"]
    assert by_email["sam@acme.example"].change.lead.score == 10
    assert by_email["sam@acme.example"].change.previous_score is None
    assert [x.reason for x in by_email["kim@acme.example"].change.explicit] == ["manual"]


def test_a_replayed_batch_writes_nothing(services):
    ev = Events()
    events = [ev.form("ann@acme.example", "Contact Sales")]
    write(services, events)
    again = write(services, events)
    assert (again.accepted, again.duplicates, again.leads) == (0, 1, [])


def test_touch_history_follows_the_touch_rule(services):
    ev = Events()
    url = "https://acme.example/pricing"
    # Two views of one page on one day are one touch; a download is one more.
    write(services, [ev.upsert("ann@acme.example", is_customer=True),
                     ev.visit("ann@acme.example", url, timedelta(hours=2)),
                     ev.visit("ann@acme.example", url, timedelta(hours=1)),
                     ev.download("ann@acme.example", "Guide", timedelta(hours=3))])
    with services.sessions() as s:
        lead_id = queries.find_lead(s, "ann@acme.example").id
        rows = store.touch_rows(s, [lead_id], signals.window_rows_start(NOW - timedelta(days=30)))
        assert store.open_since(s, [lead_id]) == {}
    assert list(rows) == [lead_id] and rows[lead_id][1] is None
    assert len(signals.window_touches(*rows[lead_id])) == 2
