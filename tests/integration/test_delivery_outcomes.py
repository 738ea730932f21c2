"""The generic delivery worker records what the sink says, with the writes its outcome carries; the ingest
use case queues the brief it rendered (the outbox stores the snapshot it is handed)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.usecases import accounts as account_uc
from bot.usecases.deliver import HeldForDigest
from bot.usecases.ingest import ingest
from bot.usecases.outcomes import Parked, Sent
from bot.worker import DeliveryWorker
from briefs.blocks import to_blocks
from briefs.model import build_brief
from briefs.text import to_text_brief
from storage import queries
from storage.models import Delivery, Qualification
from tests.support.factories import NOW, Events, parsed


def queue_one(services, rules, email: str = "ann@acme.example") -> int:
    ev = Events()
    result = ingest(services.sessions, parsed([ev.upsert(email, first_name="Ann"),
                                               ev.form(email, "Contact Sales", "Call me")]), rules, NOW)
    assert len(result.qualifications) == 1
    return result.qualifications[0]


def delivery(services, qualification_id: int) -> Delivery:
    with services.sessions() as s:
        return s.scalars(select(Delivery).where(Delivery.qualification_id == qualification_id)).one()


def test_the_outbox_keeps_the_snapshot_the_use_case_rendered(services, rules):
    qid = queue_one(services, rules)
    with services.sessions() as s:
        q = s.get(Qualification, qid)
        ann = queries.find_lead(s, "ann@acme.example")
        # As the use case builds it: with the lead's account (bot/usecases/accounts.py).
        data = account_uc.with_account(s, queries.brief_input(s, ann, NOW, q), ann.id, services.settings.accounts, NOW)
        brief = build_brief(data, rules)
    d = delivery(services, qid)
    assert d.status == "pending" and d.payload == to_blocks(brief) and d.text == to_text_brief(brief)


def test_a_sent_outcome_carries_its_write_into_the_transaction_that_records_it(services, rules):
    qid = queue_one(services, rules)
    written = []

    def write(session):
        # Same transaction as the sent record: the delivery is already marked sent in it.
        written.append(session.scalar(select(Delivery.status).where(Delivery.qualification_id == qid)))

    worker = DeliveryWorker(services.sessions, lambda item: Sent("C0REP00", "1.1", write=write),
                            clock=lambda: NOW)
    assert worker.run_once() == 1
    assert written == ["sent"]
    d = delivery(services, qid)
    assert (d.status, d.channel, d.ts) == ("sent", "C0REP00", "1.1")


def test_a_parked_delivery_is_left_to_its_write(services, rules):
    qid = queue_one(services, rules)
    until = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def sink(item):
        raise HeldForDigest(item.id, "U0JANE", until)

    worker = DeliveryWorker(services.sessions, sink, clock=lambda: NOW)
    assert worker.run_once() == 0
    d = delivery(services, qid)
    assert (d.status, d.digest_user, d.next_attempt_at, d.lease_owner) == ("digest", "U0JANE", until, None)
    assert isinstance(HeldForDigest(d.id, "U0JANE", until), Parked)
    # Nothing is due any more: the digest, not the outbox, sends it.
    assert worker.run_once() == 0


def test_a_terminal_post_starts_no_follow_through(services, rules):
    qid = queue_one(services, rules)
    assert DeliveryWorker(services.sessions, lambda item: Sent("terminal"), clock=lambda: NOW).run_once() == 1
    with services.sessions() as s:
        q = s.get(Qualification, qid)
        assert q.sla_due_at is None and q.rep_user is None and q.seen_activity_id is None
    assert delivery(services, qid).status == "sent"


def test_ingest_queues_hand_raisers_first(services, rules):
    ev = Events()
    events = [ev.upsert("sam@acme.example", score=10, ago=timedelta(hours=2)),
              ev.upsert("sam@acme.example", score=150, ago=timedelta(minutes=1)),
              ev.form("ann@acme.example", "Contact Sales", ago=timedelta(hours=1))]
    result = ingest(services.sessions, parsed(events), rules, NOW)
    with services.sessions() as s:
        reasons = [s.get(Qualification, qid).reason for qid in result.qualifications]
    assert reasons == ["hand_raiser", "score_threshold"]
