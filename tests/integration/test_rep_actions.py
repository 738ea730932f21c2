"""The rep-action use cases against a real database (SQLite, or PostgreSQL with LEADBRIEF_TEST_POSTGRES_URL):
each loads the follow-up state under a lock, applies the domain's transition, saves it and audits the click."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.usecases import rep_actions
from bot.usecases.ingest import ingest
from bot.usecases.rep_actions import Verdict
from briefs.followup import SnoozeChoice, Status
from storage import followthrough as store
from storage.models import AuditEntry, Delivery, Lead, Qualification
from tests.support.factories import NOW, Events, parsed

EVERYONE = lambda owner_email: True  # noqa: E731
NOBODY = lambda owner_email: False  # noqa: E731


def qualified(services, rules) -> int:
    ev = Events(now=NOW, prefix="ra")
    events = [ev.upsert("jon@acme.example", timedelta(days=1), first_name="Jon"),
              ev.qualified("jon@acme.example", "manual", timedelta(0))]
    services.clock = lambda: NOW
    return ingest(services.sessions, parsed(events), rules, NOW).qualifications[0]


def test_claim_saves_the_state_owner_and_audit_and_answers(services, rules):
    qid = qualified(services, rules)
    result = rep_actions.claim(services, qid, "U0JANE", "Jane@OurCo.example", EVERYONE)
    assert (result.verdict, result.changed) == (Verdict.DONE, True)
    assert result.answer.startswith("It's yours.")
    with services.sessions() as s:
        q = s.get(Qualification, qid)
        assert (q.status, q.claimed_by, q.claimed_at) == (Status.CLAIMED, "U0JANE", NOW)
        assert s.get(Lead, q.lead_id).owner_email == "jane@ourco.example"
        assert [(a.actor, a.action) for a in s.scalars(select(AuditEntry))] == [("U0JANE", "lead_claim")]
    again = rep_actions.claim(services, qid, "U0OMAR", None, EVERYONE)
    assert (again.changed, again.answer) == (False, "Already claimed by <@U0JANE>.")


def test_refusals_change_nothing(services, rules):
    qid = qualified(services, rules)
    assert rep_actions.contacted(services, qid, "U0JANE", NOBODY).verdict == Verdict.NOT_YOURS
    assert rep_actions.contacted(services, qid + 100, "U0JANE", EVERYONE).verdict == Verdict.GONE
    with services.sessions() as s:
        assert s.get(Qualification, qid).status == Status.OPEN
        assert s.scalars(select(AuditEntry)).first() is None


def test_snooze_then_not_a_fit_then_nothing_more(services, rules):
    qid = qualified(services, rules)
    snoozed = rep_actions.snooze(services, qid, "U0JANE", SnoozeChoice.HOUR, ZoneInfo("UTC"), EVERYONE)
    assert snoozed.answer.startswith("Snoozed for an hour.")
    with services.sessions() as s:
        q = s.get(Qualification, qid)
        assert (q.snoozed_until, q.nudge_at) == (NOW + timedelta(hours=1), NOW + timedelta(hours=1))
    rep_actions.not_a_fit(services, qid, "U0JANE", "no_budget", "No budget: next year", EVERYONE)
    with services.sessions() as s:
        q = s.get(Qualification, qid)
        assert (q.status, q.status_by, q.status_reason, q.nudge_at, q.snoozed_until) == (
            Status.NOT_A_FIT, "U0JANE", "No budget: next year", None, None)
        assert [a.detail for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))] == ["1h", "no_budget"]
    assert rep_actions.claim(services, qid, "U0OMAR", None, EVERYONE).answer == "This lead was already closed."


def test_reassign_releases_a_brief_held_for_the_old_reps_digest(services, rules):
    qid = qualified(services, rules)
    with services.sessions.begin() as s:
        d = s.scalars(select(Delivery).where(Delivery.qualification_id == qid)).one()
        store.hold_for_digest(s, d.id, "U0JANE", NOW + timedelta(hours=12))
    woken = []
    services.wake_delivery = lambda: woken.append(True)
    result = rep_actions.reassign(services, qid, "U0JANE", "U0OMAR", "omar@ourco.example", ZoneInfo("UTC"), EVERYONE)
    assert result.answer == "Reassigned to <@U0OMAR>; they have been told." and woken == [True]
    with services.sessions() as s:
        d = s.scalars(select(Delivery).where(Delivery.qualification_id == qid)).one()
        q = s.get(Qualification, qid)
        assert (d.status, d.digest_user, d.next_attempt_at) == ("pending", None, NOW)
        assert (q.rep_user, q.reassigned_by, q.sla_state) == ("U0OMAR", "U0JANE", "running")
