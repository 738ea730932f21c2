"""Hostile text: whatever a lead, a form or a note says can never mention, link or format in Slack.

Every message we build is rendered with hostile strings in every lead-supplied field, and checked:
no Slack control sequence survives (`<!channel>`, `<@U…>`, `<#C…>`, `<https://…|…>`), `&`, `<`, `>`
only as entities, no lead `*`, `_`, `~` or backtick left able to format, Block Kit limits held, and the
terminal renderer free of control characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from briefs.blocks import (
    FollowUp,
    delivered,
    followup_blocks,
    not_a_fit_view,
    search_blocks,
    to_blocks,
)
from briefs.followthrough import LeadCard, QueueItem, mine_message
from briefs.markup import escape_mrkdwn, fit_mrkdwn, to_mrkdwn
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, NoteView
from briefs.text import to_text_brief
from storage.leads import Match
from tests.support.blockkit import message_error, validate_view
from tests.support.factories import NOW
from tests.unit.test_brief import assert_within_limits, mrkdwn_texts

d = timedelta

HOSTILE = {
    "channel": "<!channel> <!here> <!everyone> <!here|here>",
    "mention": "<@U123ABC> <@W0XYZ|boss> <!subteam^S012|@sales>",
    "channel_link": "<#C0123|general> #general",
    "link": "<https://evil.example|click me> <mailto:x@evil.example|mail> <http://evil.example>",
    "bare": "@channel @here https://evil.example www.evil.example",
    "formatting": "*bold* _italic_ ~strike~ `code` ```block``` *_~`",
    "entities": "a & b > c < d &amp; &lt;!channel&gt; &#60;",
    "emoji": "👨‍👩‍👧‍👦 🇺🇸 👍🏽 :rotating_light: :+1:",
    "rtl": "مرحبا بالعالم שלום \u202eevil\u202c \u2067iso\u2069",
    "controls": "a\x00b\x01c\x02d\x03e\x1b[31mred\x1b[0m\x07\x08\x7f\x9b\u0085f",
    "newlines": "line one\n• *fake bullet*\n> fake quote\r\n```",
    "long_word": "x" * 20_000,
    "long_words": "word " * 6_000,
    "amps": "&" * 5_000,
    "underscores": "_" * 3_000,
    "mixed_long": ("<!channel> *a* _b_ ~c~ `d` & é 👍 " * 400),
}
IDS = list(HOSTILE)


# --- What "inert" means -------------------------------------------------------------------------

# Tokens we write ourselves: mentions of Slack user ids we were given, and Slack's date formatting.
OURS = re.compile(r"<@U0[A-Z0-9]+>|<!date\^\d+\^\{time\} \{date_short_pretty\}\|[^<>]*>")
ENTITY = re.compile(r"&(amp|lt|gt);")


def assert_inert(text: str):
    """No Slack control sequence from lead text, and `&` only as one of our entities."""
    rest = OURS.sub("", text)
    # A line that starts with "> " is our blockquote; that is the only raw ">" we write.
    rest = "\n".join(line.removeprefix("> ") for line in rest.split("\n"))
    assert "<" not in rest and ">" not in rest, text[:500]
    assert "&" not in ENTITY.sub("", rest), text[:500]
    for token in ("<!", "<@", "<#", "<http", "<mailto"):
        assert token not in rest
    # We never write `~` or backticks; lead ones are look-alikes.
    assert "~" not in text and "`" not in text, text[:500]
    # No control characters, and no bidi override that could reorder our own words.
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), repr(text[:500])


def all_texts(payload) -> list[str]:
    """Every string in a message or view, wherever it is."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            out.append(x)

    walk(payload)
    return out


def mrkdwn_objects(payload) -> list[dict]:
    out = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("type") == "mrkdwn":
                out.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(payload)
    return out


def assert_message_ok(payload: dict):
    for obj in mrkdwn_objects(payload):
        # Slack must not auto-link URLs or channel names, nor parse @mentions typed as text.
        assert obj.get("verbatim") is True
        assert obj["text"], "Slack rejects empty text"
        assert_inert(obj["text"])
    if "text" in payload and isinstance(payload["text"], str):
        assert_inert(payload["text"])
    if payload.get("type") in ("home", "modal"):
        assert validate_view(payload) == []
    else:
        assert message_error(payload.get("blocks"), payload.get("text")) is None
    for b in payload.get("blocks", []):
        if b["type"] == "header":
            assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", b["text"]["text"])
        if b["type"] == "context":
            # Our own budget, tighter than Slack's 3,000.
            assert all(len(e["text"]) <= 2000 for e in b["elements"])


# --- A brief with hostile text in every field -----------------------------------------------------


def hostile_input(evil: str, *, customer: bool = False) -> BriefInput:
    lead = LeadView(
        email=f"{evil[:50]}@x.example", first_name=evil, last_name=evil, title=evil, company=evil, phone=evil,
        owner_email=f"{evil[:30]}@ourco.example", lifecycle_stage=evil, persona=evil, lead_source=evil,
        lead_status=evil, is_customer=customer, customer_since=evil, nps=2 if customer else None,
        crm_url="https://crm.example/1",
    )
    acts = [
        ActivityView("content_download", NOW - d(days=1), title=evil, asset_type=evil, topic=evil,
                     asset_url=f"https://x.example/{evil[:100]}", campaign=evil),
        ActivityView("content_download", NOW - d(days=2), title=None, asset_url=f"https://x.example/a/{evil[:60]}"),
        ActivityView("form_submit", NOW - d(minutes=1), form="Contact Sales",
                     comments=f"{evil}. We need {evil} by Q3. {evil} referred me.",
                     properties={"referral": evil, "need": evil, "timeline": evil, "budget": evil}),
        ActivityView("form_submit", NOW - d(minutes=5), form=evil, comments=evil),
        ActivityView("email_click", NOW - d(days=2), subject=evil, campaign=evil),
        ActivityView("email_open", NOW - d(days=3), subject=None, campaign=evil),
        ActivityView("web_visit", NOW - d(days=2), url="https://x.example/pricing", properties={"page_title": evil}),
        ActivityView("web_visit", NOW - d(days=2), url=f"https://x.example/{evil[:200]}", title=evil),
        ActivityView("webinar_attended", NOW - d(days=3), title=evil, campaign=evil),
        ActivityView("event_attended", NOW - d(days=4), title=None, campaign=evil),
        ActivityView("chat", NOW - d(days=4), title=evil),
    ]
    notes = [NoteView(evil, evil, NOW - d(hours=h)) for h in range(3)]
    q = QualificationView("hand_raiser", f"filled in {evil}", NOW - d(minutes=1), NOW - d(minutes=1), id=7, note=evil)
    return BriefInput(lead, acts, notes, q, NOW)


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("customer", [False, True], ids=["prospect", "unhappy_customer"])
def test_every_brief_field_is_inert_in_slack(key, customer):
    evil = HOSTILE[key]
    brief = build_brief(hostile_input(evil, customer=customer))
    payload = to_blocks(brief)
    assert_within_limits(payload)
    assert_message_ok(payload)
    # Our own CRM link is a button URL, never mrkdwn; the only url in the message.
    urls = [e["url"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"] if "url" in e]
    assert urls == ["https://crm.example/1"]


@pytest.mark.parametrize("key", IDS)
def test_the_delivered_message_and_every_follow_up_state_are_inert(key):
    evil = HOSTILE[key]
    payload = to_blocks(build_brief(hostile_input(evil)))
    states = [
        FollowUp(7, queue_reason=evil, crm_url="https://crm.example/1", qualified_at=NOW),
        FollowUp(7, status="claimed", claimed_by="U0JANE", claimed_at=NOW, queue_reason=evil),
        FollowUp(7, status="claimed", claimed_by=evil, claimed_at=NOW, contacted_by=evil, contacted_at=NOW),
        FollowUp(7, status="not_a_fit", claimed_by="U0JANE", closed_by=evil, closed_at=NOW, closed_reason=evil),
        FollowUp(7, status="not_a_fit", closed_by="U0OMAR", closed_at=NOW, closed_reason="no_budget"),
    ]
    for f in states:
        message = delivered(payload, f)
        assert_within_limits(message)
        assert_message_ok(message)
        assert_message_ok({"blocks": followup_blocks(f)})
    # Only ids Slack gave us become mentions.
    assert "<@U0JANE>" in json.dumps(delivered(payload, states[1]))


@pytest.mark.parametrize("key", IDS)
def test_search_open_leads_and_the_not_a_fit_modal_are_inert(key):
    evil = HOSTILE[key]
    matches = [Match(email=f"{evil[:40]}@x.example", name=evil, title=evil, company=evil, score=1.0) for _ in range(12)]
    for payload in (search_blocks(evil, matches), search_blocks(evil, [])):
        assert_message_ok(payload)
        assert len(payload["text"]) <= 3000
    leads = [QueueItem(LeadCard(i, evil, evil, evil, evil, f"{evil[:40]}@x.example"), NOW - d(hours=i), evil,
                       NOW + d(minutes=i), "running", None, None) for i in range(25)]
    for payload in (mine_message(leads, NOW), mine_message(leads[:1], NOW)):
        assert_message_ok(payload)
    view = not_a_fit_view(7, "C0QUEUE", "1.2", evil)
    assert_message_ok(view)
    assert len(view["private_metadata"]) <= 3000


@pytest.mark.parametrize("key", IDS)
def test_the_terminal_brief_has_no_control_characters(key):
    text = to_text_brief(build_brief(hostile_input(HOSTILE[key], customer=key == "rtl")))
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), repr(text[:300])
    assert "\x1b" not in text


# --- Lead formatting characters never format; ours still do ------------------------------------

LOOK = {"*": "∗", "~": "∼", "`": "ˋ"}


def _inert_by_hand(text: str) -> str:
    return "".join(LOOK.get(c, c) for c in text)


@pytest.mark.parametrize("evil", [
    "*bold* and ~strike~ and `code`", "**x** ~~y~~ ```z```", "*", "a*b*c", "`", "~", "* _ ~ `",
])
def test_lead_formatting_renders_exactly_like_its_inert_look_alikes(evil):
    """A differential test: the brief with lead `*`, `~` and backticks renders exactly as with look-alikes
    typed instead, so none of them reaches Slack as a formatting character."""
    def render(text):
        payload = to_blocks(build_brief(hostile_input(text)))
        return [o["text"] for o in mrkdwn_objects(payload)] + [payload["text"]]

    assert render(evil) == render(_inert_by_hand(evil))


def test_lead_underscores_cannot_break_or_make_emphasis():
    assert to_mrkdwn("\x02_x_\x03") == "_ˍxˍ_"
    assert to_mrkdwn("\x02a_b\x03") == "_a_b_"  # inside a word: never emphasis, and the text stays exact
    assert escape_mrkdwn("first_last@acme.example") == "first_last@acme.example"
    assert escape_mrkdwn("_init_ __dunder__ snake_case_") == "ˍinitˍ ˍˍdunderˍˍ snake_caseˍ"
    # Our emphasis survives any lead text inside it.
    for inner in ("_", "*", "~", "`", "_a_", "*a*", "a_", "_a"):
        out = to_mrkdwn(f"\x02{inner}\x03")
        assert out.startswith("_") and out.endswith("_") and "_" not in out[1:-1]


def test_our_own_markup_still_formats():
    payload = to_blocks(build_brief(hostile_input("Jon")))
    texts = mrkdwn_texts(payload)
    assert any(t.startswith("*Why now.* ") for t in texts)
    assert any(t.startswith("*Talk track*\n") for t in texts)
    assert any("• *Next step:* " in t for t in texts)
    words = next(t for t in texts if t.startswith("*In their own words"))
    assert "\n> " in words and "• *Need:* " in words


def test_emails_and_urls_stay_readable():
    assert escape_mrkdwn("jon.doe+tag@acme.example") == "jon.doe+tag@acme.example"
    assert escape_mrkdwn("https://x.example/a_b/c?d=e&f=g") == "https://x.example/a_b/c?d=e&amp;f=g"
    brief = build_brief(BriefInput(replace(LeadView("first_last@acme.example"), first_name="Jo"), [], [], None, NOW))
    footer = to_blocks(brief)["blocks"][-1]["elements"][0]["text"]
    assert footer.startswith("first_last@acme.example")


def test_line_breaks_in_lead_text_cannot_fake_lines():
    assert "\n" not in to_mrkdwn("a\n• *b*\n> c\r\nd")
    assert "\n" not in fit_mrkdwn("a\u2028b\u2029c\x85d", 100)
    quoted = escape_mrkdwn("one\n> two", lines=True)
    assert quoted == "one\n&gt; two"


SANDBOX_ESCAPES = {
    "mro": "OPENER: {{ ''.__class__.__mro__ }}\n",
    "subclasses": "OPENER: {{ ''.__class__.__mro__[1].__subclasses__() }}\n",
    "globals": "OPENER: {{ lead.__init__.__globals__ }}\n",
    "func_globals": "OPENER: {{ lipsum.__globals__ }}{{ cycler.__init__.__globals__.os }}\n",
    "format": "OPENER: {{ '{0.__class__.__mro__}'.format('') }}\n",
    "attr": "OPENER: {{ lead|attr('__class__') }}\n",
    "dict_mutation": "OPENER: {{ lead.update({'name': 'x'}) }}{{ lead.__setitem__('x', 1) }}\n",
    "config": "OPENER: {{ config }}{{ self.__init__ }}{{ request }}\n",
    "undefined": "OPENER: {{ nothing_here.at_all }}\n",
    "syntax": "OPENER: {% if %}\n",
}
# Templates that fail at run time with something other than a Jinja TemplateError.
RUNTIME_FAILURES = {
    "huge_range": "OPENER: {% for i in range(10**9) %}x{% endfor %}\n",
    "zero_division": "OPENER: {{ 1 // 0 }}\n",
    "type_error": "OPENER: {{ 'a' + 1 }}\n",
}


def _render_with_template(tmp_path, source: str):
    from briefs import talktrack

    (tmp_path / "hand_raiser.j2").write_text(source)
    talktrack.environment.cache_clear()
    acts = [ActivityView("form_submit", NOW, form="Contact Sales", comments="We need help")]
    q = QualificationView("hand_raiser", "filled in a form", NOW, NOW, id=1)
    return build_brief(BriefInput(LeadView("jon@acme.example", first_name="Jon"), acts, [], q, NOW),
                       Rules(templates_dir=str(tmp_path)))


def _assert_fell_back(brief):
    t = brief.talk_track
    assert t.problem and "built-in one was used" in t.problem
    assert t.opener.startswith("Hi Jon, thanks for reaching out"), t.opener
    blob = json.dumps(to_blocks(brief))
    assert "<class" not in blob and "__globals__" not in t.opener and "subprocess" not in blob
    assert_message_ok(to_blocks(brief))


@pytest.mark.parametrize("name", list(SANDBOX_ESCAPES))
def test_admin_templates_cannot_escape_the_sandbox_or_fail_the_brief(tmp_path, name):
    _assert_fell_back(_render_with_template(tmp_path, SANDBOX_ESCAPES[name]))


@pytest.mark.parametrize("name", list(RUNTIME_FAILURES))
def test_admin_templates_failing_at_run_time_never_fail_the_brief(tmp_path, name):
    _assert_fell_back(_render_with_template(tmp_path, RUNTIME_FAILURES[name]))
