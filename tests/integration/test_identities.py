"""Visitor identity against a real database: links, pending activity, chains, bounds, replays and erasure."""

from datetime import timedelta

from sqlalchemy import func, select

from bot.usecases import privacy
from bot.usecases.ingest import ingest
from briefs import identity
from storage import queries
from storage.models import Activity, PendingActivity, ProcessedEvent, Qualification, VisitorLink
from tests.support.factories import NOW, Events, parsed

d = timedelta
EMAIL = "lea.martin@fabrique.example"


class Visits(Events):
    """Events naming a visitor of one source (segment) instead of an email."""

    def __init__(self):
        super().__init__(prefix="v")

    def _event(self, type_, ago, **body):
        return {**super()._event(type_, ago, **body), "source": "segment"}

    def page(self, visitor: dict, url: str, title: str, ago: timedelta) -> dict:
        return self._event("activity", ago, visitor=visitor, kind="web_visit", url=url,
                           properties={"page_title": title})

    def form_by(self, visitor: dict, form: str, ago: timedelta, comments: str) -> dict:
        return self._event("activity", ago, visitor=visitor, kind="form_submit", form=form, comments=comments)

    def identify(self, email: str, visitor: dict, ago: timedelta, **lead) -> dict:
        return {**self.upsert(email, ago, **lead), "visitor": visitor}

    def link(self, visitor: dict, ago: timedelta, **target) -> dict:
        return self._event("identity.link", ago, visitor=visitor, **target)


def count(services, model, *where) -> int:
    with services.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def activities_of(services, email: str) -> list[Activity]:
    with services.sessions() as s:
        lead = queries.find_lead(s, email)
        if lead is None:
            return []
        return list(s.scalars(select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.occurred_at)))


def test_anonymous_pages_wait_and_are_attached_with_their_own_times_and_ids_when_identified(services, rules):
    ev = Visits()
    anon = {"anonymous_id": "507f191e810c19729de860ea"}
    pages = [ev.page(anon, "https://www.example.com/", "Example — Home", d(hours=3)),
             ev.page(anon, "https://www.example.com/fr/tarifs", "Tarifs | Example", d(hours=2)),
             ev.page(anon, "https://www.example.com/pricing?utm_source=li", "  Pricing\t| Example ", d(hours=1))]
    first = ingest(services.sessions, parsed(pages), rules, NOW)
    assert (first.accepted, first.duplicates) == (3, 0)
    assert count(services, PendingActivity) == 3 and count(services, Activity) == 0

    result = ingest(services.sessions, parsed([ev.identify(EMAIL, {"user_id": "u-981", **anon}, d(minutes=30),
                                                           first_name="Léa")]), rules, NOW)
    assert result.accepted == 1
    acts = activities_of(services, EMAIL)
    assert [(a.source_event_id, a.occurred_at, a.properties["page_title"]) for a in acts] == [
        (pages[0]["id"], NOW - d(hours=3), "Example — Home"),
        (pages[1]["id"], NOW - d(hours=2), "Tarifs | Example"),
        (pages[2]["id"], NOW - d(hours=1), "  Pricing\t| Example "),  # free-form properties: as sent
    ]
    assert count(services, PendingActivity) == 0
    # The attached pages' claims now belong to the lead (erasure removes them with it).
    assert count(services, ProcessedEvent, ProcessedEvent.lead_id == acts[0].lead_id) == 4
    # A replay of an attached page is a duplicate, never stored twice.
    again = ingest(services.sessions, parsed(pages[:2]), rules, NOW + d(minutes=1))
    assert (again.accepted, again.duplicates) == (0, 2)
    assert count(services, Activity) == 3 and count(services, PendingActivity) == 0


def test_activity_of_a_linked_user_id_goes_to_the_lead_at_once(services, rules):
    ev = Visits()
    ingest(services.sessions, parsed([ev.identify(EMAIL, {"user_id": "u-981"}, d(hours=1))]), rules, NOW)
    result = ingest(services.sessions, parsed([ev.page({"user_id": "u-981"}, "https://www.example.com/docs",
                                                       "Docs", d(minutes=5))]), rules, NOW)
    assert result.accepted == 1
    assert [a.url for a in activities_of(services, EMAIL)] == ["https://www.example.com/docs"]
    assert count(services, PendingActivity) == 0


def test_a_chain_anonymous_id_to_user_id_to_email_resolves_in_any_order(services, rules):
    ev = Visits()
    anon, user = {"anonymous_id": "a-1"}, {"user_id": "u-1"}
    ingest(services.sessions, parsed([ev.page(anon, "https://www.example.com/a", "A", d(hours=5))]), rules, NOW)
    # anonymous id -> user id (an identify without email, or an alias): still nobody known.
    ingest(services.sessions, parsed([ev.link(anon, d(hours=4), user_id="u-1"),
                                      ev.page(user, "https://www.example.com/b", "B", d(hours=3))]), rules, NOW)
    assert count(services, PendingActivity) == 2 and count(services, Activity) == 0
    # user id -> email: both pending pages reach the lead, through the chain for the first.
    ingest(services.sessions, parsed([ev.link(user, d(hours=2), email=EMAIL)]), rules, NOW)
    assert [a.url for a in activities_of(services, EMAIL)] == ["https://www.example.com/a", "https://www.example.com/b"]
    # Later activity of the anonymous id follows the chain at once.
    ingest(services.sessions, parsed([ev.page(anon, "https://www.example.com/c", "C", d(hours=1))]), rules, NOW)
    assert len(activities_of(services, EMAIL)) == 3 and count(services, PendingActivity) == 0


def test_a_cycle_of_aliases_resolves_to_nobody_and_ends(services, rules):
    ev = Visits()
    ingest(services.sessions, parsed([ev.link({"user_id": "x"}, d(hours=2), user_id="y"),
                                      ev.link({"user_id": "y"}, d(hours=2), user_id="x"),
                                      ev.page({"user_id": "x"}, "https://www.example.com/", "Home", d(hours=1))]),
           rules, NOW)
    assert count(services, PendingActivity) == 1 and count(services, Activity) == 0


def test_an_alias_does_not_take_a_linked_visitor_away_from_their_lead(services, rules):
    ev = Visits()
    ingest(services.sessions, parsed([ev.identify(EMAIL, {"anonymous_id": "a-1"}, d(hours=2)),
                                      ev.link({"anonymous_id": "a-1"}, d(hours=1), user_id="u-unknown"),
                                      ev.page({"anonymous_id": "a-1"}, "https://www.example.com/", "Home",
                                              d(minutes=5))]), rules, NOW)
    assert len(activities_of(services, EMAIL)) == 1


def test_an_attached_form_counts_for_qualification_like_any_other(services, rules):
    ev = Visits()
    anon = {"anonymous_id": "a-form"}
    ingest(services.sessions, parsed([ev.form_by(anon, "Contact Sales", d(minutes=20),
                                                 "Wir brauchen SSO für 300 Nutzer, Start im Q2.")]), rules, NOW)
    assert count(services, Qualification) == 0
    result = ingest(services.sessions, parsed([ev.identify(EMAIL, anon, d(minutes=10), company="Fabrique")]),
                    rules, NOW)
    assert len(result.qualifications) == 1
    with services.sessions() as s:
        assert s.get(Qualification, result.qualifications[0]).reason == "hand_raiser"


def test_pending_activity_is_bounded_per_visitor_and_by_age(services, rules, monkeypatch):
    monkeypatch.setattr(identity, "PENDING_PER_VISITOR", 3)
    ev = Visits()
    bot = {"anonymous_id": "crawler"}
    hits = [ev.page(bot, f"https://www.example.com/p/{i}", f"P{i}", d(minutes=60 - i)) for i in range(5)]
    old = ev.page({"anonymous_id": "old"}, "https://www.example.com/old", "Old", identity.PENDING_MAX_AGE + d(days=1))
    result = ingest(services.sessions, parsed([*hits, old]), rules, NOW)
    assert result.accepted == 6  # accepted (and claimed: a replay is a duplicate), only not all kept
    with services.sessions() as s:
        kept = s.scalars(select(PendingActivity.source_event_id).order_by(PendingActivity.occurred_at)).all()
    assert kept == [h["id"] for h in hits[2:]]
    # A pending page that expired meanwhile is not attached; `leadbrief purge` removes the expired ones.
    later = NOW + identity.PENDING_MAX_AGE - d(minutes=57)
    ingest(services.sessions, parsed([ev.identify(EMAIL, bot, d(0))]), rules, later)
    assert [a.url for a in activities_of(services, EMAIL)] == [h["url"] for h in hits[3:]]
    assert count(services, PendingActivity) == 0


def test_purge_deletes_expired_pending_activity(services, rules):
    ev = Visits()
    ingest(services.sessions, parsed([ev.page({"anonymous_id": "a"}, "https://www.example.com/", "Home",
                                              d(days=2))]), rules, NOW)
    services.clock = lambda: NOW + identity.PENDING_MAX_AGE
    privacy.purge(services, 365, "test")
    assert count(services, PendingActivity) == 0


def test_replayed_batch_with_links_and_visitor_activity_changes_nothing(services, rules):
    ev = Visits()
    batch = parsed([ev.page({"anonymous_id": "a"}, "https://www.example.com/", "Home", d(hours=1)),
                    ev.identify(EMAIL, {"anonymous_id": "a", "user_id": "u"}, d(minutes=30)),
                    ev.page({"user_id": "u"}, "https://www.example.com/pricing", "Pricing", d(minutes=20))])
    first = ingest(services.sessions, batch, rules, NOW)
    assert (first.accepted, first.duplicates) == (3, 0)
    assert len(activities_of(services, EMAIL)) == 2
    again = ingest(services.sessions, batch, rules, NOW)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert len(activities_of(services, EMAIL)) == 2 and count(services, VisitorLink) == 2


def test_forgetting_the_lead_erases_its_links_chained_ids_and_pending_activity(services, rules):
    ev = Visits()
    other = "someone.else@example.org"
    ingest(services.sessions, parsed([
        ev.identify(EMAIL, {"user_id": "u-1", "anonymous_id": "a-1"}, d(hours=3)),
        ev.link({"anonymous_id": "a-2"}, d(hours=2), user_id="u-1"),
        # Activity of a user id that is aliased to u-1 only later.
        ev.page({"user_id": "u-2"}, "https://www.example.com/x", "X", d(hours=1)),
        ev.identify(other, {"anonymous_id": "a-9"}, d(hours=1)),
    ]), rules, NOW)
    ingest(services.sessions, parsed([ev.link({"user_id": "u-2"}, d(minutes=30), user_id="u-1")]), rules, NOW)
    assert count(services, PendingActivity) == 0 and len(activities_of(services, EMAIL)) == 1
    ingest(services.sessions, parsed([ev.page({"anonymous_id": "a-2"}, "https://www.example.com/y", "Y",
                                              d(minutes=5))]), rules, NOW)
    assert count(services, VisitorLink) == 5
    forgotten = privacy.forget(services, EMAIL, "test")
    assert forgotten is not None and forgotten.visitor_links == 4
    with services.sessions() as s:
        assert s.scalars(select(VisitorLink.visitor_id)).all() == ["a-9"]
    assert count(services, Activity) == 0 and count(services, PendingActivity) == 0
    # Activity of a forgotten visitor arriving later waits as nobody's again.
    ingest(services.sessions, parsed([ev.page({"anonymous_id": "a-1"}, "https://www.example.com/z", "Z",
                                              d(minutes=1))]), rules, NOW)
    assert count(services, PendingActivity) == 1 and count(services, Activity) == 0


def test_erasure_removes_pending_activity_of_the_leads_visitors(services, rules):
    ev = Visits()
    ingest(services.sessions, parsed([ev.identify(EMAIL, {"user_id": "u-1"}, d(hours=3)),
                                      ev.link({"anonymous_id": "a-1"}, d(hours=2), user_id="u-1")]), rules, NOW)
    with services.sessions.begin() as s:  # pending for a visitor linked since (left by an older version, say)
        s.add(PendingActivity(source="segment", source_event_id="p-1", anonymous_id="a-1", occurred_at=NOW,
                              received_at=NOW, event={"type": "activity"}))
    forgotten = privacy.forget(services, EMAIL, "test")
    assert forgotten is not None and forgotten.pending_activities == 1
    assert count(services, PendingActivity) == 0 and count(services, VisitorLink) == 0


def test_an_alias_to_a_new_user_id_merges_it_into_the_known_lead(services, rules):
    ev = Visits()
    ingest(services.sessions, parsed([ev.identify(EMAIL, {"user_id": "u-old"}, d(hours=2)),
                                      ev.page({"user_id": "u-new"}, "https://www.example.com/a", "A", d(hours=1))]),
           rules, NOW)
    assert count(services, PendingActivity) == 1
    # alias(previousId=u-old, userId=u-new): u-new is the same person, so its waiting page reaches them too.
    ingest(services.sessions, parsed([ev.link({"user_id": "u-old", "anonymous_id": "u-old"}, d(minutes=30),
                                              user_id="u-new")]), rules, NOW)
    assert [a.url for a in activities_of(services, EMAIL)] == ["https://www.example.com/a"]
    ingest(services.sessions, parsed([ev.page({"user_id": "u-new"}, "https://www.example.com/b", "B",
                                              d(minutes=5))]), rules, NOW)
    assert len(activities_of(services, EMAIL)) == 2 and count(services, PendingActivity) == 0


def test_a_link_that_changes_nothing_is_recorded_as_an_event_and_applies_nothing(services, rules):
    """A second identity.link saying what is already known (a new id, same link), alone or beside a visitor's
    activity from another source with the same event id, is accepted, not a crash."""
    ev = Visits()
    anon, user = {"anonymous_id": "anon-42"}, {"user_id": "u-42"}
    ingest(services.sessions, parsed([ev.identify(EMAIL, user, d(hours=2))]), rules, NOW)
    first = ingest(services.sessions, parsed([ev.link(anon, d(hours=1), user_id="u-42")]), rules, NOW)
    again = ingest(services.sessions, parsed([ev.link(anon, d(minutes=30), user_id="u-42")]), rules, NOW)
    assert (first.accepted, again.accepted, again.duplicates) == (1, 1, 0)
    # Two sources may use the same event id: each visitor's activity goes to its own lead or waits.
    page = ev.page(anon, "https://www.example.com/pricing", "Pricing", d(minutes=10))
    stranger = {**page, "source": "rudderstack", "visitor": {"anonymous_id": "anon-99"}}
    both = ingest(services.sessions, parsed([page, stranger]), rules, NOW)
    assert both.accepted == 2
    assert [a.url for a in activities_of(services, EMAIL)] == ["https://www.example.com/pricing"]
    assert count(services, PendingActivity, PendingActivity.source == "rudderstack") == 1
