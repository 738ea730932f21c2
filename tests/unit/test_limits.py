"""Slack's total text limit, message by message: every kind of message we build keeps the text of all its
blocks, counted after escaping, under the budget, cutting its least important parts first. (Through the fake
Slack, which enforces Slack's 12,000: tests/e2e/test_limits.py.)"""

import json
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefs.blocks import (
    TEXT_BUDGET,
    FollowUp,
    delivered,
    followup_blocks,
    note_message,
    search_blocks,
    shortened,
    to_blocks,
)
from briefs.followthrough import (
    LeadCard,
    QueueItem,
    digest,
    escalation,
    home_view,
    mine_message,
    passed_on,
    reminder,
    thread_update,
)
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, NoteView
from storage.leads import Match
from tests.support.blockkit import blocks_text_length, message_error, validate_view
from tests.support.factories import NOW

d = timedelta
# Escape-heavy: every `&` is sent as `&amp;`, every `<` and `>` as `&lt;` and `&gt;`.
AMPS = "&<> "


def escape_heavy(n: int) -> str:
    return (AMPS * (n // len(AMPS) + 1))[:n]


# --- Every message kind, with hostile long input -------------------------------------------------------

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = st.sampled_from(["&", "<", ">", "&amp;", "<!channel>", "*", "_", "`", "👨‍👩‍👧", "é", " ", "\n", "word ",
                          escape_heavy(300), "x" * 500])
# Long text a lead, a form or marketing could send: up to a few thousand characters, mostly what escaping grows.
LONG = st.lists(PIECES, min_size=1, max_size=40).map("".join).filter(str.strip)


def assert_under_budget(message: dict, view: bool = False):
    """Valid Block Kit (the fake's checks) and under our budget; escaping itself is tests/unit/test_hostile.py's."""
    blocks = message["blocks"]
    if view:
        assert validate_view(message) == []
    else:
        assert message_error(blocks, message.get("text")) is None
    assert blocks_text_length(blocks) <= TEXT_BUDGET


def customer_input(evil: str, form: str) -> BriefInput:
    lead = LeadView(email="pat@globex.example", first_name=evil[:200], last_name=evil[:200], title=evil[:300],
                    company=evil[:300], owner_email="jane@ourco.example", lifecycle_stage="customer",
                    lead_source=evil[:200], is_customer=True, customer_since="2021", nps=2,
                    crm_url="https://crm.example/1")
    acts = [ActivityView("content_download", NOW - d(days=n), title=evil[:500], topic=evil[:200],
                         campaign=evil[:300], asset_url=f"https://x.example/{n}") for n in range(1, 12)]
    acts += [ActivityView("form_submit", NOW - d(minutes=1), form="Contact Sales", comments=form[:10_000],
                          properties={"need": evil[:500], "timeline": evil[:500]}),
             ActivityView("email_click", NOW - d(days=2), subject=evil[:500], campaign=evil[:300])]
    notes = [NoteView(evil[:200], evil[:3000], NOW - d(hours=h)) for h in range(3)]
    q = QualificationView("hand_raiser", f"filled in {evil[:300]}", NOW - d(minutes=1), NOW - d(minutes=1), id=7,
                          note=evil[:2000])
    return BriefInput(lead, acts, notes, q, NOW)


def states(evil: str) -> list[FollowUp]:
    return [
        FollowUp(7, queue_reason=evil, crm_url="https://crm.example/1", qualified_at=NOW, sla_due_at=NOW),
        FollowUp(7, status="claimed", claimed_by="U0JANE", claimed_at=NOW, contacted_by=evil, contacted_at=NOW,
                 qualified_at=NOW, reassigned_by=evil, rep_user="U0OMAR", reassigned_at=NOW, queue_reason=evil),
        FollowUp(7, status="not_a_fit", closed_by=evil, closed_at=NOW, closed_reason=evil, qualified_at=NOW),
    ]


@FAST
@given(LONG, LONG)
def test_a_brief_and_each_of_its_follow_up_states_stay_under_the_budget(evil, form):
    payload = to_blocks(build_brief(customer_input(evil, form * 5)))
    assert_under_budget(payload)
    for f in states(evil):
        assert_under_budget(delivered(payload, f))
        short = shortened(payload, f)
        assert_under_budget(short)
        assert short["blocks"][0]["type"] == "header"


def test_the_least_important_parts_go_first():
    brief = build_brief(customer_input(escape_heavy(3000), escape_heavy(10_000)))
    whole = to_blocks(brief, budget=10**6)["blocks"]
    assert blocks_text_length(whole) > 12_000  # too long for Slack as it is
    fitted = to_blocks(brief)["blocks"]
    by_id = {b.get("block_id"): b for b in fitted}
    # The header, why now, the warning and the opener are whole; marketing's notes went first.
    for kept in ("brief_why", "brief_warning"):
        assert by_id[kept] == next(b for b in whole if b.get("block_id") == kept)
    assert fitted[0] == whole[0]
    opener = next(b for b in whole if b.get("block_id") == "brief_talk")["text"]["text"].split("\n")[1]
    assert opener in by_id["brief_talk"]["text"]["text"]
    assert "brief_notes" not in by_id
    assert any(b.get("block_id") == "lead_links" for b in fitted)


@FAST
@given(LONG)
def test_digest_home_search_and_lists_stay_under_the_budget(evil):
    cards = [LeadCard(i, evil[:600], evil[:600], "score_threshold", evil[:600], f"lead{i}@x.example")
             for i in range(60)]
    follow = {c.qualification_id: states(evil)[c.qualification_id % 3] for c in cards}
    assert_under_budget(digest(cards, "U0JANE", follow))
    queue = [QueueItem(c, NOW - d(hours=1), "open", NOW + d(minutes=5), "running", None, follow[c.qualification_id])
             for c in cards[:20]]
    summary = [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 2000, "verbatim": True}}]
    home = home_view("U0JANE", queue, summary, NOW, quiet=False)
    assert_under_budget(home, view=True)
    assert len(home["blocks"]) <= 100
    matches = [Match(email=f"m{i}@x.example", name=evil[:400], title=evil[:300], company=evil[:300], score=1.0)
               for i in range(10)]
    assert_under_budget(search_blocks(evil, matches))
    assert_under_budget(mine_message(queue, NOW))


@FAST
@given(LONG)
def test_thread_updates_reminders_escalations_and_notes_stay_under_the_budget(evil):
    card = LeadCard(7, evil[:600], evil[:600], "hand_raiser", evil[:600], "pat@globex.example")
    acts = [ActivityView("form_submit", NOW - d(minutes=n), form=evil[:300], comments=evil) for n in range(30)]
    assert_under_budget(thread_update(card, acts, Rules(), "U0JANE"))
    assert_under_budget(reminder(card, "U0JANE", 12, 5))
    assert_under_budget(escalation(card, "U0JANE", 12, 5, "C0JANE"))
    assert_under_budget(passed_on(card, "U0JANE", "U0OMAR", "C0JANE"))
    assert_under_budget({"text": "t", "blocks": followup_blocks(states(evil)[1])})
    note = note_message("U0MIA", evil[:3000], NOW)
    assert_under_budget(note)
    assert note["blocks"][0]["type"] == "context"


def test_a_stored_brief_without_room_for_its_follow_up_is_cut_in_its_body_not_its_state():
    brief = build_brief(customer_input(escape_heavy(3000), escape_heavy(10_000)))
    payload = to_blocks(brief, budget=TEXT_BUDGET)  # as if stored with no room left for the follow-up
    state = states(escape_heavy(600))[2]
    message = delivered(payload, state)
    assert_under_budget(message)
    ids = [b.get("block_id") for b in message["blocks"]]
    assert "🚫 Not a fit" in json.dumps(message["blocks"], ensure_ascii=False)
    assert ids[:2] == [None, "brief_status"] and ids[-1] == "brief_footer"
    # What went is the body's least important part; why now is whole.
    assert [b for b in message["blocks"] if b.get("block_id") == "brief_why"] == \
           [b for b in payload["blocks"] if b.get("block_id") == "brief_why"]
