"""Ingestion against a real database: idempotency, ordering, qualification episodes, the outbox."""

from datetime import timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.usecases.ingest import ingest
from briefs.model import build_brief
from briefs.signals import touch_rows, touches
from briefs.text import to_text_brief
from storage import queries
from storage.models import Activity, ContentAsset, Delivery, HandoffNote, Lead, ProcessedEvent, Qualification
from tests.support.factories import NOW, Events, downloads_and_pricing_views, parsed, researcher_history

d = timedelta


def count(services, model) -> int:
    with services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_researcher_history_qualifies_once_and_writes_its_brief_to_the_outbox(services, rules):
    ev = Events()
    result = ingest(services.sessions, parsed(researcher_history(ev)), rules, NOW)
    assert (result.accepted, result.duplicates, len(result.qualifications)) == (9, 0, 1)
    with services.sessions() as s:
        q = s.get(Qualification, result.qualifications[0])
        assert (q.reason, q.detail, q.status) == ("score_threshold", "lead score crossed 100 (now 110)", "open")
        assert q.triggered_at == NOW - d(minutes=2)
        delivery = s.scalars(select(Delivery)).one()
        assert delivery.qualification_id == q.id and delivery.status == "pending"
        assert delivery.payload["blocks"][0]["text"]["text"].startswith("🔥 Jon Doe")
        assert "I saw you downloaded “The Lifecycle of a Widget” and “10 Tips" in delivery.text
        lead = queries.find_lead(s, " JON.DOE@acme.example ")
        assert (lead.title, lead.score, lead.updated_at) == ("Director of Operations", 110, NOW)
    assert count(services, ContentAsset) == 2


def test_replays_are_duplicates_and_never_applied_twice(services, rules):
    ev = Events()
    events = researcher_history(ev)
    first = ingest(services.sessions, parsed(events), rules, NOW)
    again = ingest(services.sessions, parsed(events), rules, NOW + d(minutes=1))
    assert (again.accepted, again.duplicates, again.qualifications) == (0, 9, [])
    # Old and new mixed: only the new ones are applied.
    fresh = [ev.visit(events[0]["lead"]["email"], f"https://ourco.example/new-{i}", d(minutes=i)) for i in range(3)]
    mixed = ingest(services.sessions, parsed([events[1], fresh[0], events[2], fresh[1], fresh[2], events[3]]), rules, NOW)
    assert (mixed.accepted, mixed.duplicates) == (3, 3)
    with services.sessions() as s:
        urls = set(s.scalars(select(Activity.url).where(Activity.url.like("%/new-%"))))
        assert urls == {f"https://ourco.example/new-{i}" for i in range(3)}
    # Inside one batch, too:
    dup = ev.visit("x@y.example", "https://ourco.example/a", d(hours=1))
    within = ingest(services.sessions, parsed([dup, dup, dup]), rules, NOW)
    assert (within.accepted, within.duplicates) == (1, 2)
    assert count(services, Activity) == 7 + 3 + 1
    assert count(services, Qualification) == len(first.qualifications) == 1
    assert count(services, ProcessedEvent) == 9 + 3 + 1


def test_same_id_from_two_sources_is_two_events(services, rules):
    ev = Events()
    a = ev.visit("x@y.example", "https://ourco.example/a", d(hours=1))
    b = {**a, "source": "hubspot"}
    assert ingest(services.sessions, parsed([a, b]), rules, NOW).accepted == 2


def test_activity_for_an_unknown_email_creates_the_lead(services, rules):
    ev = Events()
    ingest(services.sessions, parsed([ev.visit("New.Person@Example.com", "https://ourco.example/", d(hours=1))]), rules, NOW)
    with services.sessions() as s:
        lead = queries.find_lead(s, "new.person@example.com")
        assert lead is not None and lead.created_at == NOW
        assert s.scalars(select(Activity.lead_id)).one() == lead.id


def test_activity_only_batches_store_activity_without_rewriting_the_lead(services, rules):
    # Plain activity never needs the lead's row: first/last touch come from the activities themselves.
    ev = Events()
    email = "quiet@reader.example"
    ingest(services.sessions, parsed([ev.upsert(email, d(days=3), first_name="Quinn")]), rules, NOW - d(days=1))
    plus_two = {**ev.visit(email, "https://ourco.example/a", d(days=2)),
                "occurred_at": (NOW - d(days=2)).astimezone(timezone(d(hours=2))).isoformat()}
    ingest(services.sessions, parsed([ev.activity(email, "email_delivered", d(hours=1), subject="Hello"), plus_two]),
           rules, NOW)
    ingest(services.sessions, parsed([ev.visit(email, "https://ourco.example/b", d(days=5))]), rules, NOW)
    with services.sessions() as s:
        lead = queries.find_lead(s, email)
        assert (lead.first_name, lead.updated_at) == ("Quinn", NOW - d(days=1))
        got = s.execute(select(Activity.url, Activity.occurred_at).where(Activity.lead_id == lead.id)
                        .order_by(Activity.occurred_at)).all()
        assert got == [("https://ourco.example/b", NOW - d(days=5)), ("https://ourco.example/a", NOW - d(days=2)),
                       (None, NOW - d(hours=1))]
    with services.sessions() as s:
        text = to_text_brief(build_brief(queries.brief_input(s, queries.find_lead(s, email), NOW), rules))
    assert "first touch Nov 18, 2026 · last touch 2 days ago" in text, text
    assert "✉️ 1 email sent · 0 opened" in text, text


def test_out_of_order_upserts_newer_wins_older_fills_gaps(services, rules):
    ev = Events()
    newer = ev.upsert("a@b.example", d(hours=1), title="VP Sales", company="Acme")
    older = ev.upsert("a@b.example", d(days=3), title="Sales Manager", phone="+1 555 0100")
    ingest(services.sessions, parsed([newer]), rules, NOW)
    ingest(services.sessions, parsed([older]), rules, NOW)
    with services.sessions() as s:
        lead = queries.find_lead(s, "a@b.example")
        assert (lead.title, lead.company, lead.phone) == ("VP Sales", "Acme", "+1 555 0100")
        assert lead.profile_as_of == NOW - d(hours=1)


def test_lifecycle_spellings_are_normalised_and_customer_stage_marks_customers(services, rules):
    ev = Events()
    ingest(services.sessions, parsed([ev.upsert("a@b.example", d(minutes=5), lifecycle_stage="marketingqualifiedlead")]),
           rules, NOW)
    ingest(services.sessions, parsed([ev.upsert("c@d.example", d(minutes=5), lifecycle_stage="customer")]), rules, NOW)
    with services.sessions() as s:
        a = queries.find_lead(s, "a@b.example")
        assert a.lifecycle_stage == "mql"
        assert queries.latest_qualification(s, a.id).reason == "lifecycle_change"
        assert queries.find_lead(s, "c@d.example").is_customer is True


def test_one_qualification_per_episode(services, rules):
    ev = Events()
    email = "h@r.example"
    first = ingest(services.sessions, parsed([ev.form(email, "Contact Sales", "Call me", d(minutes=30))]), rules, NOW)
    second = ingest(services.sessions, parsed([
        ev.form(email, "Request a Demo", "Still waiting", d(minutes=5)),
        ev.qualified(email, "manual", d(minutes=4)),
        ev.upsert(email, d(minutes=3), score=500),
    ]), rules, NOW)
    assert len(first.qualifications) == 1 and second.qualifications == []
    # Once the episode has closed, the lead can qualify again.
    with services.sessions.begin() as s:
        s.get(Qualification, first.qualifications[0]).status = "closed"
    third = ingest(services.sessions, parsed([ev.form(email, "Contact Sales", "Back again", d(minutes=1))]), rules, NOW)
    assert len(third.qualifications) == 1


def test_stale_hand_raiser_form_from_a_backfill_does_not_page(services, rules):
    ev = Events()
    result = ingest(services.sessions, parsed([ev.form("old@x.example", "Contact Sales", "Old", d(days=40))]), rules, NOW)
    assert result.accepted == 1 and result.qualifications == []


def test_reengaged_customer_qualifies_from_stored_history(services, rules):
    ev = Events()
    email = "lee@umbrella.example"
    ingest(services.sessions, parsed([
        ev.upsert(email, d(days=400), first_name="Lee", is_customer=True, customer_since="2023"),
        ev.activity(email, "email_open", d(days=215), subject="Quarterly review"),
    ]), rules, NOW - d(days=200))
    burst = [ev.visit(email, f"https://ourco.example/p{n}", d(days=n)) for n in (5, 3, 1)]
    result = ingest(services.sessions, parsed(burst), rules, NOW)
    assert len(result.qualifications) == 1
    with services.sessions() as s:
        q = s.get(Qualification, result.qualifications[0])
        assert q.reason == "re_engaged" and "7 months quiet" in q.detail


def test_notes_are_stored_and_shown_in_the_brief(services, rules):
    ev = Events()
    email = "n@x.example"
    ingest(services.sessions, parsed([
        ev.note(email, "Mia", "Met at the booth <!channel>", d(hours=2)),
        ev.form(email, "Contact Sales", "Please call", d(minutes=1)),
    ]), rules, NOW)
    assert count(services, HandoffNote) == 1
    with services.sessions() as s:
        delivery = s.scalars(select(Delivery)).one()
    notes = next(b for b in delivery.payload["blocks"] if b.get("text", {}).get("text", "").startswith("*Notes"))
    assert "Mia (2 hours ago): “Met at the booth &lt;!channel&gt;”" in notes["text"]["text"]


def test_brief_query_reads_the_stored_history(services, rules):
    ev = Events()
    ingest(services.sessions, parsed(researcher_history(ev)), rules, NOW)
    with services.sessions() as s:
        lead = queries.find_lead(s, "jon.doe@acme.example")
        data = queries.brief_input(s, lead, NOW)
    assert len(data.activities) == 7 and data.qualification.reason == "score_threshold"
    assert data.activities[0].title == "The Lifecycle of a Widget" and data.activities[0].topic == "the widget lifecycle"
    assert data.lead.email == "jon.doe@acme.example"


def test_a_failed_batch_leaves_nothing_behind(services, rules, monkeypatch):
    ev = Events()
    import bot.usecases.ingest as mod

    def boom(*a, **k):
        raise RuntimeError("brief failed")

    monkeypatch.setattr(mod, "brief_of", boom)
    with pytest.raises(RuntimeError, match="brief failed"):
        ingest(services.sessions, parsed(researcher_history(ev)), rules, NOW)
    for model in (Lead, Activity, ProcessedEvent, Qualification, Delivery):
        assert count(services, model) == 0


def test_racing_deliveries_of_the_same_batch_apply_it_once(services, rules):
    from concurrent.futures import ThreadPoolExecutor

    ev = Events()
    events = parsed(researcher_history(ev) + [ev.form("race@x.example", "Contact Sales", "Call me")])
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ingest(services.sessions, events, rules, NOW), range(4)))
    assert sum(r.accepted for r in results) == len(events)
    assert sum(r.duplicates for r in results) == 3 * len(events)
    assert sum(len(r.qualifications) for r in results) == 2
    assert count(services, Activity) == 8 and count(services, Delivery) == 2


def test_long_histories_load_recent_detail_plus_older_content_and_count_the_rest(services, rules):
    from storage.queries import OLDER_NOTABLE, RECENT_ACTIVITIES

    ev = Events()
    email = "long@history.example"
    events = [ev.visit(email, f"https://ourco.example/p{i}", d(hours=i)) for i in range(RECENT_ACTIVITIES + 200)]
    events += [ev.download(email, f"Old paper {i}", d(days=60, hours=i), topic="old topic") for i in range(50)]
    for start in range(0, len(events), 500):
        ingest(services.sessions, parsed(events[start:start + 500]), rules, NOW)
    with services.sessions() as s:
        data = queries.brief_input(s, queries.find_lead(s, email), NOW)
    assert len(data.activities) == RECENT_ACTIVITIES + 50 <= RECENT_ACTIVITIES + OLDER_NOTABLE
    assert sum(a.kind == "content_download" for a in data.activities) == 50
    # The 200 older visits are read as minimal rows, counted by the touch rule but not listed.
    assert len(data.older_touch_rows) == 200 and {r[0] for r in data.older_touch_rows} == {"web_visit"}
    all_touches = touches(touch_rows(data.activities) + data.older_touch_rows)
    assert len(all_touches) == 550
    assert min(all_touches) == NOW - d(days=60, hours=49)
    assert all(a.occurred_at.tzinfo is not None for a in data.activities)


def test_concurrent_batches_over_shared_leads_all_land(services, rules):
    """Four writers, overlapping leads and assets, new and existing leads mixed: no deadlock, nothing lost."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    def batch(w: int, b: int) -> list[dict]:
        rnd = random.Random(w * 100 + b)
        ev = Events(prefix=f"w{w}b{b}")
        out = []
        for _ in range(200):
            email = f"shared{rnd.randrange(40 + 60 * b)}@x.example"  # new leads keep arriving
            if rnd.random() < 0.1:
                out.append(ev.upsert(email, d(minutes=rnd.randrange(100)), score=rnd.randrange(90)))
            else:
                out.append(ev.download(email, f"Asset {rnd.randrange(20)}", d(minutes=rnd.randrange(1000))))
        return out

    def writer(w: int) -> int:
        return sum(ingest(services.sessions, parsed(batch(w, b)), rules, NOW).accepted for b in range(5))

    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(writer, range(4)))
    assert accepted == 4 * 5 * 200
    assert count(services, ProcessedEvent) == 4000


def test_lead_status_is_stored_and_newer_wins(services, rules):
    ev = Events()
    ingest(services.sessions, parsed([ev.upsert("s@t.example", d(hours=1), lead_status="CONNECTED"),
                                      ev.upsert("s@t.example", d(hours=2), lead_status="NEW")]), rules, NOW)
    with services.sessions() as s:
        assert queries.find_lead(s, "s@t.example").lead_status == "CONNECTED"


def _claims_by_lead(services) -> dict[str, str | None]:
    """event id -> email of the lead its processed_events row is tied to (None: untied)."""
    with services.sessions() as s:
        rows = s.execute(select(ProcessedEvent.event_id, Lead.email)
                         .outerjoin(Lead, Lead.id == ProcessedEvent.lead_id)).all()
    return dict(rows)


def test_every_claim_is_tied_to_its_lead_whether_the_lead_is_new_or_known(services, rules):
    """So that `forget` can remove them (docs/security.md, "Forgetting a lead"). Known leads are tied at claim time, leads the batch
    creates right after; a replay ties nothing new and creates no lead."""
    ev = Events()
    known = "known@acme.example"
    first = ev.upsert(known, first_name="Kay")
    ingest(services.sessions, parsed([first]), rules, NOW)
    batch = [*researcher_history(ev), ev.visit(known, "https://ourco.example/a", d(hours=1)),
             ev.note("new@hooli.example", "Mia", "Met at the expo"),
             ev.qualified("new2@hooli.example", "manual")]
    batch.append(dict(batch[-1]))  # the same event twice in one batch: one claim
    result = ingest(services.sessions, parsed(batch), rules, NOW)
    assert result.accepted == len(batch) - 1
    tied = _claims_by_lead(services)
    expected = {e["id"]: (e.get("email") or e.get("lead", {}).get("email")) for e in batch}
    expected[first["id"]] = known
    assert tied == expected

    replay = ingest(services.sessions, parsed(batch), rules, NOW)
    assert replay.accepted == 0 and _claims_by_lead(services) == expected


def test_touches_follow_one_rule_however_long_the_history(services, rules):
    """Issue 14: 300 recent downloads and 100 older views of the pricing page (10 a day over 10 days, as the
    page's URL varies) are 310 touches, not 400, in the brief, though the views fall outside its detailed read."""
    email = "many@touches.example"
    events = [Events().upsert(email, d(days=30), first_name="Max")] + downloads_and_pricing_views(Events(), email)
    ingest(services.sessions, parsed(events), rules, NOW)
    with services.sessions() as s:
        data = queries.brief_input(s, queries.find_lead(s, email), NOW)
    assert all(a.kind == "content_download" for a in data.activities)  # the views are only counted
    brief = build_brief(data, rules)
    assert brief.readiness.touches == 310
    text = to_text_brief(brief)
    assert "310 touches in 13 days" in text and "400 touches" not in text


@pytest.mark.parametrize(("needed", "qualifies"), [(310, True), (311, False)])
def test_reengagement_counts_touches_by_the_same_rule(services, needed, qualifies):
    """The re-engagement rule counts the window's touches in SQL-fed history: page views once per page per day."""
    from briefs.rules import Rules

    rules = Rules(reengage_touches=needed, reengage_window_days=14)
    ev = Events()
    email = "back@umbrella.example"
    ingest(services.sessions, parsed([
        ev.upsert(email, d(days=400), first_name="Lee", is_customer=True, customer_since="2023"),
        ev.activity(email, "email_open", d(days=215), subject="Quarterly review"),
    ]), rules, NOW - d(days=200))
    result = ingest(services.sessions, parsed(downloads_and_pricing_views(ev, email)), rules, NOW)
    assert len(result.qualifications) == int(qualifies)
    if qualifies:
        with services.sessions() as s:
            q = s.get(Qualification, result.qualifications[0])
        assert q.reason == "re_engaged" and "310 touches in the last 14 days" in q.detail


def test_a_customers_newsletters_opened_by_a_mail_proxy_do_not_reengage_them(services, rules):
    """Three newsletters in a week, each 'opened' two seconds after delivery by Apple's proxy: no re-engagement.
    The same opens an hour later, by a person, re-engage the customer."""
    def history(ev: Events, email: str, seconds: int) -> list[dict]:
        out = []
        for n, subject in ((5, "Novedades de noviembre"), (3, "Webinar: routing rules"), (1, "Release notes 4.2")):
            sent = d(days=n)
            mid = {"message_id": f"{email}-{n}"}
            out.append(ev.activity(email, "email_delivered", sent, subject=subject, properties=mid))
            out.append(ev.activity(email, "email_open", sent - d(seconds=seconds), subject=subject,
                                   properties={**mid, "user_agent": "Mozilla/5.0"} if seconds < 5 else mid))
        return out

    ev = Events()
    for email in ("proxy@umbrella.example", "reader@umbrella.example"):
        ingest(services.sessions, parsed([
            ev.upsert(email, d(days=400), first_name="Lee", is_customer=True, customer_since="2023"),
            ev.activity(email, "email_open", d(days=215), subject="Quarterly review"),
        ]), rules, NOW - d(days=200))
    proxied = ingest(services.sessions, parsed(history(ev, "proxy@umbrella.example", 2)), rules, NOW)
    read = ingest(services.sessions, parsed(history(ev, "reader@umbrella.example", 3600)), rules, NOW)
    assert proxied.qualifications == [] and len(read.qualifications) == 1
