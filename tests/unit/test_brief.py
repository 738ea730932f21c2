"""The brief, pure: histories in, a model out, rendered as Slack blocks and terminal text."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from briefs.blocks import MAX_HEADER, MAX_SECTION, to_blocks
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, NoteView
from briefs.text import to_text_brief
from tests.support.blockkit import assert_valid_message
from tests.support.factories import NOW

d = timedelta
JON = LeadView(email="jon@acme.example", first_name="Jon", last_name="Doe", title="Director of Operations",
               company="Acme Widgets", owner_email="jane@ourco.example", score=110, crm_url="https://crm.example/1")


TWO_MIN = d(minutes=2)


def q(reason="score_threshold", detail="lead score crossed 100 (now 110)", ago=TWO_MIN, note=None):
    return QualificationView(reason, detail, NOW - ago, NOW - ago, id=7, note=note)


def researcher_acts():
    return [
        ActivityView("web_visit", NOW - d(days=9), url="https://ourco.example/solutions/widgets"),
        ActivityView("content_download", NOW - d(days=8), title="10 Tips for Improving your Widget ROI",
                     asset_type="whitepaper", topic="widget ROI", campaign="ROI"),
        ActivityView("email_sent", NOW - d(days=6, hours=3), subject="Your widget ROI checklist"),
        ActivityView("email_open", NOW - d(days=6), subject="Your widget ROI checklist"),
        ActivityView("email_click", NOW - d(days=6), subject="Your widget ROI checklist"),
        ActivityView("web_visit", NOW - d(days=4), url="https://ourco.example/blog/widgets-101"),
        ActivityView("web_visit", NOW - d(days=2), url="https://ourco.example/pricing"),
        ActivityView("content_download", NOW - d(days=1), title="The Lifecycle of a Widget", asset_type="infographic",
                     topic="the widget lifecycle", campaign="ROI"),
    ]


def mrkdwn_texts(payload: dict) -> list[str]:
    out = []
    for b in payload["blocks"]:
        if b["type"] == "section":
            out.append(b["text"]["text"])
        elif b["type"] == "context":
            out += [e["text"] for e in b["elements"]]
    return out


def assert_within_limits(payload: dict):
    assert_valid_message(payload)
    # Our own budgets, tighter than Slack's: a context text within 2,000 characters, the fallback within 3,000.
    for b in payload["blocks"]:
        if b["type"] == "context":
            assert all(len(e["text"]) <= 2000 for e in b["elements"])
    assert len(payload["text"]) <= 3000


def test_engaged_researcher_opener_names_what_they_read():
    brief = build_brief(BriefInput(JON, researcher_acts(), [], q(), NOW))
    t = brief.talk_track
    assert t.track == "researcher"
    assert "I saw you downloaded \x02The Lifecycle of a Widget\x03 and \x0210 Tips for Improving your Widget ROI\x03" in t.opener
    assert "the widget lifecycle" in t.opener
    assert any("pricing page" in x for x in t.questions)
    assert 2 <= len(t.questions) <= 3 and t.next_step
    assert brief.readiness.touches == 7 and brief.readiness.stage == "ready"
    assert "7 touches, within the usual 5–7" in brief.readiness.label
    # Newest content first, with type words a rep would say.
    assert brief.engagement[0].startswith("📄 \x02The Lifecycle of a Widget\x03 (infographic), yesterday")
    assert "(white paper)" in brief.engagement[1]
    assert any("opened and clicked, 6 days ago" in line for line in brief.engagement)
    assert brief.engagement[-1].startswith("🌐 Pricing, 2 days ago")
    assert brief.why_now.startswith("Lead score crossed 100 (now 110), 2 min ago. 7 touches in 9 days")

    payload = to_blocks(brief)
    assert_within_limits(payload)
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": "🔥 Jon Doe · Director of Operations, Acme Widgets"}}
    talk = next(x for x in mrkdwn_texts(payload) if x.startswith("*Talk track*"))
    assert "> Hi Jon, I saw you downloaded _The Lifecycle of a Widget_ and _10 Tips" in talk
    assert payload["blocks"][-2]["elements"][0]["url"] == "https://crm.example/1"
    text = to_text_brief(brief)
    assert "I saw you downloaded “The Lifecycle of a Widget” and “10 Tips for Improving your Widget" in text
    assert "\x02" not in text and "\x02" not in json.dumps(payload)


def test_hand_raiser_gets_their_own_words_first():
    sam = LeadView(email="sam@globex.example", first_name="Sam", company="Globex")
    words = "Pat Lee at Initech referred me. We need a widget solution for 40 plants and must go live this quarter."
    acts = [ActivityView("form_submit", NOW - d(minutes=3), form="Contact Sales", comments=words)]
    brief = build_brief(BriefInput(sam, acts, [], q("hand_raiser", "filled in the Contact Sales form", d(minutes=3)), NOW))
    assert brief.own_words.quote == words
    facts = {f.label: f.text for f in brief.word_facts}
    assert facts == {"Referral": "“Pat Lee at Initech referred me”", "Need": "“We need a widget solution for 40 plants”",
                     "Timeline": "“must go live this quarter”", "Scale": "“40 plants”"}
    t = brief.talk_track
    assert t.track == "hand_raiser"
    assert "“We need a widget solution for 40 plants” and “must go live this quarter”" in t.opener
    assert "Pat Lee at Initech" in t.questions[0]
    assert brief.readiness.stage == "asked_for_sales"
    texts = mrkdwn_texts(to_blocks(brief))
    words_at = next(i for i, x in enumerate(texts) if x.startswith("*In their own words"))
    engaged_at = next(i for i, x in enumerate(texts) if x.startswith("*What they engaged with*"))
    assert words_at < engaged_at
    assert "> Pat Lee at Initech referred me." in texts[words_at]


def test_unhappy_customer_gets_a_warning_and_no_pitch():
    dana = LeadView(email="dana@initrode.example", first_name="Dana", is_customer=True, nps=3, customer_since="2022")
    acts = researcher_acts()
    brief = build_brief(BriefInput(dana, acts, [], q("hand_raiser", "filled in the Request a Demo form"), NOW))
    assert brief.warning.startswith("⚠️ Unhappy customer (NPS 3, detractor). Acknowledge the open issues")
    assert brief.talk_track.track == "detractor"
    assert "downloaded" not in brief.talk_track.opener and "Do not pitch" in brief.talk_track.next_step
    assert brief.icon == "⚠️"
    payload = to_blocks(brief)
    # The warning is the first thing under the header.
    assert payload["blocks"][2]["text"]["text"].startswith("*⚠️ Unhappy customer (NPS 3, detractor)")
    low_csat = replace(dana, nps=None, csat=2)
    assert build_brief(BriefInput(low_csat, acts, [], None, NOW)).talk_track.track == "detractor"


def test_promoter_customer_is_cross_sell_with_a_referral_angle():
    lee = LeadView(email="lee@umbrella.example", first_name="Lee", is_customer=True, nps=10, customer_since="2021")
    brief = build_brief(BriefInput(lee, researcher_acts(), [], q(), NOW))
    assert brief.talk_track.track == "customer"
    assert any("Promoter: ask for a referral" in line for line in brief.customer_lines)
    assert any("cross-sell or upsell" in line for line in brief.customer_lines)
    assert any("introduce us to a peer" in x for x in brief.talk_track.questions)
    assert brief.warning is None


def test_reengaged_customer_is_named_with_the_quiet_gap():
    lee = LeadView(email="lee@umbrella.example", first_name="Lee", is_customer=True, customer_since="2023")
    acts = [ActivityView("email_open", NOW - d(days=215), subject="Quarterly review")] + [
        ActivityView("web_visit", NOW - d(days=n), url=f"https://ourco.example/p{n}") for n in (6, 4, 2, 1)
    ]
    brief = build_brief(BriefInput(lee, acts, [], q("re_engaged", "customer back"), NOW))
    assert brief.talk_track.track == "reengaged_customer"
    assert "Back in buying mode: customer since 2023; quiet for 7 months; 4 touches in the last 7 days." in brief.customer_lines
    assert brief.icon == "🔁"


def test_empty_history_still_makes_a_useful_brief():
    bare = LeadView(email="x@y.example")
    brief = build_brief(BriefInput(bare, [], [], None, NOW))
    assert brief.headline == "x@y.example"
    assert brief.readiness.touches == 0 and brief.engagement == []
    assert brief.engagement_summary == "No engagement recorded yet"
    assert brief.talk_track.track == "default" and brief.talk_track.opener.startswith("Hi there")
    assert_within_limits(to_blocks(brief))
    assert "Talk track" in to_text_brief(brief)


def test_five_thousand_touches_are_summarised_within_block_kit_limits():
    acts = []
    for i in range(5000):
        kind = ("content_download", "web_visit", "email_open", "email_click", "webinar_attended")[i % 5]
        acts.append(ActivityView(kind, NOW - d(hours=i), title=f"Asset number {i} " + "long words " * 30,
                                 url=f"https://ourco.example/page/{i}", subject=f"Subject {i}", campaign=f"C{i % 40}"))
    notes = [NoteView("Mia", "note " * 400, NOW - d(hours=i)) for i in range(30)]
    lead = replace(JON, first_name="J" * 200, company="C" * 300)
    brief = build_brief(BriefInput(lead, acts, notes, q(), NOW))
    payload = to_blocks(brief)
    assert_within_limits(payload)
    engaged = next(x for x in mrkdwn_texts(payload) if x.startswith("*What they engaged with*"))
    assert "…and 995 more downloads" in engaged
    assert brief.readiness.stage == "past_ready"
    assert "40 campaigns" in brief.engagement_summary
    notes_text = next(x for x in mrkdwn_texts(payload) if x.startswith("*Notes*"))
    assert notes_text.rstrip().endswith("more") and len(notes_text) <= MAX_SECTION
    # Shortened text ends on a whole word with an ellipsis, never mid-word.
    header = payload["blocks"][0]["text"]["text"]
    assert header.endswith("…") and len(header) <= MAX_HEADER


HOSTILE = ["<!channel>", "<!here>", "<@U123ABC>", "<https://evil.example|click me>", "a & b > c", "*_~`"]


@pytest.mark.parametrize("evil", HOSTILE)
def test_hostile_text_is_escaped_everywhere(evil):
    lead = LeadView(email="e@x.example", first_name=evil, last_name=evil, title=evil, company=evil,
                    owner_email="o@x.example", is_customer=True, customer_since=evil)
    acts = [
        ActivityView("content_download", NOW - d(days=1), title=evil, asset_type=evil, topic=evil),
        ActivityView("form_submit", NOW - d(minutes=1), form="Contact Sales " + evil, comments=f"{evil}. We need {evil} by Q3."),
        ActivityView("email_click", NOW - d(days=2), subject=evil),
        ActivityView("web_visit", NOW - d(days=2), url="https://x.example/pricing", properties={"page_title": evil}),
        ActivityView("webinar_attended", NOW - d(days=3), title=evil),
    ]
    notes = [NoteView(evil, evil, NOW)]
    brief = build_brief(BriefInput(lead, acts, notes, q("manual", "qualified by hand", note=evil), NOW))
    payload = to_blocks(brief)
    for text in mrkdwn_texts(payload) + [payload["text"]]:
        assert "<" not in text and ">" not in text.replace("\n> ", "\n").removeprefix("> ").replace("&gt;", "")
        if "&" in evil:
            assert "& b" not in text
    # plain_text is never parsed for mentions or links by Slack; everything else must hold no raw token.
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    blob = json.dumps(payload["blocks"][1:] + [payload["text"]])
    assert "<!channel>" not in blob and "<@U123ABC>" not in blob and "<https://evil" not in blob


def test_admin_templates_override_ours_and_are_sandboxed(tmp_path):
    (tmp_path / "researcher.j2").write_text("OPENER: Custom hello {{ greeting }} about {{ content[0].title | em }}\nNEXT: call\n")
    (tmp_path / "researcher.executive.j2").write_text("OPENER: Exec hello {{ lead.company }}\n")
    (tmp_path / "hand_raiser.j2").write_text("OPENER: {{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    rules = Rules(templates_dir=str(tmp_path))
    brief = build_brief(BriefInput(JON, researcher_acts(), [], q(), NOW), rules)
    assert brief.talk_track.opener == "Custom hello Jon about \x02The Lifecycle of a Widget\x03"
    assert brief.talk_track.template == "researcher.j2"
    exec_brief = build_brief(BriefInput(replace(JON, persona="Executive"), researcher_acts(), [], q(), NOW), rules)
    assert exec_brief.talk_track.opener == "Exec hello Acme Widgets"
    # A template reaching for Python internals is stopped; ours is used and the problem is shown.
    acts = [ActivityView("form_submit", NOW, form="Contact Sales", comments="We need help")]
    evil = build_brief(BriefInput(JON, acts, [], q("hand_raiser", "filled in a form"), NOW), rules)
    assert evil.talk_track.problem and "built-in one was used" in evil.talk_track.problem
    assert evil.talk_track.opener.startswith("Hi Jon, thanks for reaching out")
    assert "custom talk-track template hand_raiser.j2 failed (SecurityError" in json.dumps(to_blocks(evil))


def test_notes_and_qualification_note_travel_with_the_brief():
    notes = [NoteView("Mia", "Met him at the Widget Expo booth; budget approved in March.", NOW - d(days=1))]
    brief = build_brief(BriefInput(JON, researcher_acts(), notes, q(note="Hot account"), NOW))
    assert brief.notes == ["From the qualification: “Hot account”",
                           "Mia (yesterday): “Met him at the Widget Expo booth; budget approved in March.”"]
    text = to_text_brief(brief)
    assert text.index("Talk track") < text.index("\nNotes\n")


def test_emails_are_ordered_by_when_they_were_opened_not_sent():
    acts = [
        ActivityView("email_sent", NOW - d(days=1), subject="Sent yesterday, opened long ago"),
        ActivityView("email_open", NOW - d(days=60), subject="Sent yesterday, opened long ago"),
        ActivityView("email_open", NOW - d(days=7), subject="Opened last week"),
    ]
    lines = [x for x in build_brief(BriefInput(JON, acts, [], None, NOW)).engagement if x.startswith("✉️ “")]
    assert lines == ["✉️ “Opened last week”: opened, 7 days ago", "✉️ “Sent yesterday, opened long ago”: opened, 2 months ago"]


def test_hand_raiser_form_without_comments_still_gets_a_hand_raiser_track():
    acts = [ActivityView("form_submit", NOW - d(minutes=2), form="Contact Sales")]
    brief = build_brief(BriefInput(JON, acts, [], q("hand_raiser", "filled in the Contact Sales form"), NOW))
    assert brief.talk_track.track == "hand_raiser" and brief.talk_track.problem is None
    assert brief.talk_track.opener.startswith("Hi Jon, thanks for reaching out through our Contact Sales form.")
    assert brief.own_words is None


def test_a_failing_builtin_template_never_fails_the_brief(monkeypatch):
    from briefs import talktrack

    monkeypatch.setattr(talktrack, "_clean", lambda ctx: {k: v for k, v in ctx.items() if k != "content"})
    brief = build_brief(BriefInput(JON, researcher_acts(), [], q(), NOW))
    assert "talk-track template researcher.j2 failed (UndefinedError" in brief.talk_track.problem
    assert brief.talk_track.opener.startswith("Hi Jon, thanks for your interest")
    assert "talk-track template researcher.j2 failed" in json.dumps(to_blocks(brief))


@pytest.mark.parametrize(("status", "shown"), [
    ("ATTEMPTED_TO_CONTACT", "CRM status: Attempted to contact"),
    ("OPEN_DEAL", "CRM status: Open deal"),
    ("Working - Contacted", "CRM status: Working - Contacted"),
])
def test_the_crms_lead_status_is_shown_in_words(status, shown):
    brief = build_brief(BriefInput(replace(JON, lead_status=status), researcher_acts(), [], q(), NOW))
    assert shown in brief.status_line
    assert shown in to_text_brief(brief)
    assert any(shown in t for t in mrkdwn_texts(to_blocks(brief)))


def test_a_brief_without_a_lead_status_does_not_mention_one():
    assert "CRM status" not in build_brief(BriefInput(JON, researcher_acts(), [], q(), NOW)).status_line
