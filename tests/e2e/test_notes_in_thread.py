"""Handoff notes the posted brief does not show reach its thread: a `/lead note` saved while the brief waited
in the outbox, a lead.note from marketing after the brief was built, a note Slack refused at first. Signed
webhooks and commands in, the fake Slack out, time moved by the test (the workers are run by hand)."""

from datetime import timedelta

from sqlalchemy import select, update

from storage import leads as lead_store
from storage.models import Delivery, HandoffNote
from tests.e2e.test_followthrough import events_at, ft, one, post_hand_raiser, text_of  # noqa: F401
from tests.e2e.test_slack import hand_raiser, send_webhook, slash

d = timedelta
SAM = "sam@globex.example"


def _notes(server) -> list[HandoffNote]:
    with server.services.sessions() as s:
        return list(s.scalars(select(HandoffNote).order_by(HandoffNote.id)))


def _thread(fake, ts: str, words: str) -> list[dict]:
    """The replies Slack took in that thread (failed calls are not messages), with these words."""
    with fake.lock:
        return [m for m in fake.messages.values() if m["thread_ts"] == ts and words in text_of(m)]


def test_a_note_saved_while_the_brief_waits_goes_into_its_thread_once_it_is_posted(http, ft, fake_slack):  # noqa: F811
    send_webhook(http, ft, hand_raiser(events_at(ft)))  # queued: the delivery worker has not run yet
    slash(http, ft, fake_slack, f"note {SAM} Pat says they sign Friday <!channel> & want the EU plan",
          user="U0MIA", name="note")
    assert "their brief is on its way, and the note will be posted in its thread" in \
        fake_slack.wait_for_responses("note")[0]["text"]
    assert ft.follow() == 0  # no brief in Slack yet: nothing to post in
    assert ft.deliver() == 1
    brief = fake_slack.calls_to("chat.postMessage")[-1]
    assert "sign Friday" not in text_of(brief)  # built before the note was written
    ts = one(ft, Delivery).ts
    ft.clock.advance(d(seconds=2))
    assert ft.follow() == 1
    [note] = _thread(fake_slack, ts, "sign Friday")
    assert note["channel"] == "D0JANE" and "<@U0MIA>" in text_of(note)
    assert "&lt;!channel&gt; &amp; want" in text_of(note) and "<!channel>" not in text_of(note)
    [stored] = _notes(ft)
    assert (stored.slack_channel, stored.slack_ts) == ("D0JANE", note["ts"])  # erasure can find and redact it
    ft.clock.advance(d(minutes=10))
    ft.follow()
    assert len(_thread(fake_slack, ts, "sign Friday")) == 1  # posted once


def test_a_note_from_marketing_after_the_brief_is_posted_in_its_thread_with_its_role(http, ft, fake_slack):  # noqa: F811
    post_hand_raiser(http, ft, fake_slack)
    ts = one(ft, Delivery).ts
    ev = events_at(ft, "n")
    note = ev.note(SAM, "Mia Marketing", "Met Sam at the Hannover booth: they run 40 plants, call after 15:00 CET.")
    note.update(author_role="marketing", author_email="mia@ourco.example")
    send_webhook(http, ft, [note])
    ft.clock.advance(d(seconds=2))
    assert ft.follow() == 1
    [posted] = _thread(fake_slack, ts, "Hannover booth")
    assert "📝 Note from Mia Marketing (marketing)" in text_of(posted)
    assert _notes(ft)[0].slack_ts == posted["ts"]


def test_notes_the_brief_already_shows_are_not_posted_again(http, ft, fake_slack):  # noqa: F811
    ev = events_at(ft)
    early = ev.note(SAM, "Mia Marketing", "Sam asked for the ISO 27001 report at the webinar.", d(hours=2))
    send_webhook(http, ft, [early, *hand_raiser(ev)])
    assert ft.deliver() == 1
    brief = fake_slack.calls_to("chat.postMessage")[-1]
    assert "ISO 27001 report" in text_of(brief)
    ts = one(ft, Delivery).ts
    ft.clock.advance(d(seconds=2))
    ft.follow()
    ft.clock.advance(d(minutes=2))
    ft.follow()
    assert _thread(fake_slack, ts, "ISO 27001") == []
    assert one(ft, Delivery).notes_through == _notes(ft)[0].id


def test_a_note_slack_refused_is_posted_once_its_claim_runs_out(http, ft, fake_slack):  # noqa: F811
    post_hand_raiser(http, ft, fake_slack)
    ts = one(ft, Delivery).ts
    fake_slack.fail("chat.postMessage", "internal_error")
    slash(http, ft, fake_slack, f"note {SAM} Budget approved by the CFO", user="U0MIA", name="note")
    assert "I will post it there in a few minutes" in fake_slack.wait_for_responses("note")[0]["text"]
    assert _thread(fake_slack, ts, "Budget approved") == []
    ft.clock.advance(d(minutes=1))
    ft.follow()
    assert _thread(fake_slack, ts, "Budget approved") == []  # still claimed by the command that saved it
    ft.clock.advance(lead_store.NOTE_CLAIM)
    ft.follow()
    assert len(_thread(fake_slack, ts, "Budget approved")) == 1
    ft.clock.advance(lead_store.NOTE_CLAIM * 2)
    ft.follow()
    assert len(_thread(fake_slack, ts, "Budget approved")) == 1


def test_a_note_whose_thread_is_gone_is_not_tried_again(http, ft, fake_slack):  # noqa: F811
    send_webhook(http, ft, hand_raiser(events_at(ft)))
    slash(http, ft, fake_slack, f"note {SAM} Wants a call Monday", user="U0MIA", name="note")
    fake_slack.wait_for_responses("note")
    assert ft.deliver() == 1
    fake_slack.fail("chat.postMessage", "is_archived", times=1)
    ft.clock.advance(d(seconds=2))
    assert ft.follow() == 0
    calls = len(fake_slack.calls_to("chat.postMessage"))
    for _ in range(3):
        ft.clock.advance(lead_store.NOTE_CLAIM * 2)
        ft.follow()
    tried = [c for c in fake_slack.calls_to("chat.postMessage")[calls:] if "Wants a call Monday" in text_of(c)]
    assert tried == []
    assert _notes(ft)[0].slack_ts is None


def test_briefs_queued_before_the_upgrade_leave_their_notes_alone(http, ft, fake_slack):  # noqa: F811
    """A brief queued before migration 0021 has no notes_through: which notes it shows is not known, so none
    is posted after it (an upgrade must not flood old threads)."""
    send_webhook(http, ft, hand_raiser(events_at(ft)))
    with ft.services.sessions.begin() as s:
        s.execute(update(Delivery).values(notes_through=None))
    slash(http, ft, fake_slack, f"note {SAM} Old-style note", user="U0MIA", name="note")
    fake_slack.wait_for_responses("note")
    assert ft.deliver() == 1
    ts = one(ft, Delivery).ts
    ft.clock.advance(d(seconds=2))
    ft.follow()
    assert _thread(fake_slack, ts, "Old-style note") == []


def test_a_refused_note_the_worker_would_not_retry_says_where_it_is_kept(http, ft, fake_slack):  # noqa: F811
    """A brief queued before migration 0021 (or older than 30 days) is not one the worker posts notes under:
    the rep is told where the note is, not promised a post that will not come."""
    post_hand_raiser(http, ft, fake_slack)
    with ft.services.sessions.begin() as s:
        s.execute(update(Delivery).values(notes_through=None))
    fake_slack.fail("chat.postMessage", "internal_error")
    slash(http, ft, fake_slack, f"note {SAM} Budget approved by the CFO", user="U0MIA", name="note")
    reply = fake_slack.wait_for_responses("note")[0]["text"]
    assert "shown whenever their brief is opened (`/lead sam@globex.example`)" in reply
    assert "in a few minutes" not in reply
