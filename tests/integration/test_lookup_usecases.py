"""The lookup, notes, routes, stats and privacy use cases against a real database, with a fake Slack gateway
(no server): visibility, audit, and the plain values metrics read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from bot.usecases import lookup, notes, privacy, routes, stats
from bot.usecases.ingest import ingest
from briefs import visibility
from storage import leads as lead_store
from storage import stats as stats_store
from storage.models import AuditEntry, Delivery, HandoffNote, Qualification
from tests.support.factories import NOW, Events, parsed, researcher_history

JANE, OMAR, NOBODY = "U0JANE", "U0OMAR", "U0NOBODY"


class FakeDirectory:
    EMAILS = {JANE: "jane@ourco.example", OMAR: "omar@ourco.example"}

    def email_of(self, user_id: str) -> str | None:
        return self.EMAILS.get(user_id)

    def name_of(self, user_id: str) -> str:
        return f"name of {user_id}"


@dataclass
class FakeAccess:
    own_leads_only: bool = True
    members: dict[str, list[str] | None] = field(default_factory=dict)

    def outsiders(self, channel: str) -> list[str] | None:
        return self.members.get(channel)

    def read_error(self, channel: str) -> str | None:
        return "channel_not_found" if channel == "C0GONE" else None


@dataclass
class FakeSlack:
    access: FakeAccess | None
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    client: object = None


@pytest.fixture
def leads(services, rules):
    ev = Events(NOW)
    ingest(services.sessions, parsed([
        *researcher_history(ev),  # Jon Doe, owned by jane@ourco.example
        ev.upsert("joan.dough@globex.example", first_name="Joan", last_name="Dough", company="Globex",
                  owner_email="omar@ourco.example"),
    ]), rules, NOW)
    services.clock = lambda: NOW
    return services


def _audit(services) -> list[tuple[str, str, str | None]]:
    with services.sessions() as s:
        return [(e.actor, e.action, e.detail) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_search_under_own_leads_only_shows_only_the_reps_leads(leads):
    leads.slack = FakeSlack(FakeAccess(own_leads_only=True))
    jane = lookup.search(leads, JANE, "jon doe")
    assert "jon.doe@acme.example" in str(jane["blocks"]) and "joan.dough" not in str(jane["blocks"])
    assert "No lead matches" in lookup.search(leads, NOBODY, "jon doe")["text"]  # Slack gave no email
    leads.slack = FakeSlack(access=None)
    everyone = lookup.search(leads, NOBODY, "jo do")
    assert "joan.dough@globex.example" in str(everyone["blocks"])
    assert [a for a in _audit(leads) if a[1] == "search"] == [
        (JANE, "search", "1 matches"), (NOBODY, "search", "0 matches"), (NOBODY, "search", "2 matches")]


def test_lookup_of_someone_elses_lead_is_refused_and_audited(leads):
    leads.slack = FakeSlack(FakeAccess(own_leads_only=True))
    assert lookup.lookup(leads, OMAR, "jon.doe@acme.example") == {"text": visibility.NOT_YOURS}
    brief = lookup.lookup(leads, JANE, "JON.DOE@acme.example")
    assert "Jon Doe" in str(brief["blocks"])
    missing = lookup.lookup(leads, JANE, "jon.do@acme.example")
    assert missing["text"].startswith("No lead with the email") and "Did you mean" in missing["text"]
    with leads.sessions() as s:
        looked = [(e.actor, e.lead_id is not None, e.detail) for e in
                  s.scalars(select(AuditEntry).where(AuditEntry.action == "lookup").order_by(AuditEntry.id))]
    assert looked == [(OMAR, True, None), (JANE, True, None), (JANE, False, "no such lead")]


def test_read_brief_for_the_terminal_is_audited_under_the_actor(leads):
    assert lookup.read_brief(leads, "nobody@acme.example", "cli:ops") is None
    brief = lookup.read_brief(leads, "jon.doe@acme.example", "cli:ops")
    assert brief is not None and brief.email == "jon.doe@acme.example" and "Jon Doe" in brief.headline
    assert _audit(leads) == [("cli:ops", "lookup", None)]


def test_a_note_on_someone_elses_lead_is_refused_and_one_without_a_posted_brief_is_kept(leads):
    leads.slack = FakeSlack(FakeAccess(own_leads_only=True))
    assert notes.add_note(leads, OMAR, "jon.doe@acme.example", "Hi") == {"text": visibility.NOT_YOURS}
    saved = notes.add_note(leads, JANE, "jon.doe@acme.example", "Met at the expo")
    # Jon qualified and his brief waits in the outbox: the note will follow it into its thread.
    assert saved == {"text": "Saved your note on Jon Doe; their brief is on its way, and the note will be posted "
                             "in its thread."}
    with leads.sessions.begin() as s:  # a lead who never qualified: the note will be in their first brief
        s.execute(delete(Delivery))
    saved = notes.add_note(leads, JANE, "jon.doe@acme.example", "Budget approved")
    assert saved == {"text": "Saved your note on Jon Doe; it will appear in their brief."}
    assert "note was not saved" in notes.add_note(leads, JANE, "x@acme.example", "Hi")["text"]
    assert [a[:2] for a in _audit(leads)] == [(JANE, "note"), (JANE, "note")]


def test_a_route_is_refused_when_outsiders_or_nobody_knows_who_is_in_the_channel(leads):
    access = FakeAccess(members={"C0SALES": [], "C0MIXED": ["U0X", "U0Y"]})
    leads.slack = FakeSlack(access)
    assert routes.unsafe_route(None, "C0ANY") is None
    assert "2 member(s) who are not on the sales team" in routes.set_route(leads, JANE, "C0MIXED")["text"]
    assert "(channel_not_found)" in routes.set_route(leads, JANE, "C0GONE")["text"]
    assert "could not read your email" in routes.set_route(leads, NOBODY, "C0SALES")["text"]
    assert routes.show_route(leads, JANE)["text"].startswith("Your new briefs come to you as a direct message")
    assert routes.set_route(leads, JANE, "C0SALES")["text"].startswith("Done: your new briefs will go to <#C0SALES>")
    assert routes.show_route(leads, JANE)["text"].startswith("Your new briefs go to <#C0SALES>")
    assert [a for a in _audit(leads)] == [(JANE, "route_refused", "C0MIXED"), (JANE, "route_refused", "C0GONE"),
                                          (JANE, "route", "C0SALES")]


def test_quiet_mode_shows_and_switches_audited(leads):
    assert routes.quiet_mode(leads, JANE, None)["text"].startswith("🔔 Real-time")
    assert "digest at 08:30 your time" in routes.quiet_mode(leads, JANE, True, "08:30")["text"]
    assert "digest at 08:30 your time" in routes.quiet_mode(leads, JANE, None)["text"]
    assert routes.quiet_mode(leads, JANE, False)["text"].startswith("🔔 Real-time")
    assert _audit(leads) == [(JANE, "quiet", "on"), (JANE, "quiet", "off")]


def test_stats_and_the_home_summary_cover_only_the_reps_leads(leads):
    leads.slack = FakeSlack(FakeAccess(own_leads_only=True))
    fields = stats.stats(leads, JANE, 30)["blocks"][1]["fields"]
    assert fields[0]["text"] == "*Leads qualified*\n1 (0 posted)"
    assert stats.stats(leads, OMAR, 30) == {"text": "No leads were qualified in the last 30 days (Oct 24, 2026 to Nov 23, 2026, UTC).", "blocks": []}
    view = stats.home(leads, JANE, audited=True)
    assert view["type"] == "home"
    assert [a[:2] for a in _audit(leads)] == [(JANE, "stats"), (OMAR, "stats"), (JANE, "home")]
    report = stats.report(leads, 30, "cli:ops", "csv")
    assert report.total.qualified == 1
    assert _audit(leads)[-1] == ("cli:ops", "stats", "30d csv")


def test_outbox_figures_are_plain_values(leads):
    with leads.sessions() as s:
        figures = stats_store.outbox_figures(s)
    assert figures.deliveries == {"pending": 1}
    assert figures.retrying == 0 and figures.overdue == 0
    assert figures.oldest_pending is not None
    listing = stats.outbox_listing(leads, None, 10)
    assert listing.counts == {"pending": 1} and [r.status for r in listing.rows] == ["pending"]
    assert stats.retry_failed(leads, None) == 0


def test_outbox_figures_of_an_empty_outbox(services):
    with services.sessions() as s:
        figures = stats_store.outbox_figures(s)
    assert (figures.deliveries, figures.retrying, figures.oldest_pending, figures.overdue) == ({}, 0, None, 0)


def test_purge_preview_forget_and_the_audit_trail(leads):
    purged = privacy.purge(leads, 5, "cli:ops", dry_run=True)
    assert purged.count > 0 and purged.cutoff == NOW - timedelta(days=5)
    assert privacy.preview(leads, "nobody@acme.example") is None
    found = privacy.preview(leads, "jon.doe@acme.example")
    assert found is not None and found.activities > 0
    done = privacy.forget(leads, "jon.doe@acme.example", "cli:ops")
    assert done is not None and done.lead_ref.startswith("forgotten:")
    assert privacy.redact_forgotten(leads, done, "cli:ops") == []  # nothing was posted
    trail = privacy.audit_trail(leads, lead_ref="jon.doe@acme.example", actor=None, limit=10)
    assert [line.action for line in trail] == ["redact", "forget"]
    assert trail[0].detail == "0 of 0 posted briefs redacted in Slack"


def _copy(row, **changes):
    """A new row of the same model with the same values (but its id), changed as given."""
    values = {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs if c.key != "id"}
    return type(row)(**{**values, **changes})


def test_a_note_waits_for_the_newer_brief_rather_than_the_old_thread(leads):
    """Jon's first brief is in Slack and a newer one is queued: the note is not posted in the old thread (the
    new brief, built before it, would not show it); the worker posts it in the new brief's thread."""
    leads.slack = FakeSlack(access=None)
    with leads.sessions.begin() as s:
        first = s.scalars(select(Delivery)).one()
        first.status, first.channel, first.ts, first.sent_at = "sent", "D0JANE", "1700000000.000100", NOW
        second_q = _copy(s.get(Qualification, first.qualification_id))
        s.add(second_q)
        s.flush()
        s.add(_copy(first, qualification_id=second_q.id, status="pending", channel=None, ts=None, sent_at=None))
    saved = notes.add_note(leads, JANE, "jon.doe@acme.example", "Call after the board meeting")
    assert saved["text"].endswith("their brief is on its way, and the note will be posted in its thread.")
    with leads.sessions() as s:
        note = s.scalars(select(HandoffNote)).one()
        assert (note.slack_ts, note.thread_claimed_at) == (None, None)  # left for the worker, not the old thread
        assert lead_store.notes_for_threads(s, NOW, NOW - timedelta(days=30)) == []  # nor does the worker use it
    with leads.sessions.begin() as s:  # the newer brief goes out
        s.execute(update(Delivery).where(Delivery.status == "pending")
                  .values(status="sent", channel="D0JANE", ts="1700000500.000200", sent_at=NOW))
    with leads.sessions() as s:
        [waiting] = lead_store.notes_for_threads(s, NOW, NOW - timedelta(days=30))
    assert (waiting.note_id, waiting.thread_ts) == (note.id, "1700000500.000200")
