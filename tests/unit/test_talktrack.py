"""Talk tracks (briefs.talktrack): which track a lead gets, and reading a template's OPENER/ASK/NEXT lines."""

from pathlib import Path

import pytest

from briefs.markup import EM_CLOSE, EM_OPEN
from briefs.talktrack import parse, render, select_track


@pytest.mark.parametrize("flags,track", [
    (dict(unhappy=True, hand_raiser=True, reengaged=True, customer=True, downloads=3), "detractor"),
    (dict(unhappy=True, hand_raiser=False, reengaged=False, customer=False, downloads=0), "default"),  # prospects have no CSAT
    (dict(unhappy=False, hand_raiser=True, reengaged=True, customer=True, downloads=3), "hand_raiser"),
    (dict(unhappy=False, hand_raiser=False, reengaged=True, customer=True, downloads=3), "reengaged_customer"),
    (dict(unhappy=False, hand_raiser=False, reengaged=True, customer=False, downloads=0), "default"),
    (dict(unhappy=False, hand_raiser=False, reengaged=False, customer=True, downloads=3), "customer"),
    (dict(unhappy=False, hand_raiser=False, reengaged=False, customer=False, downloads=2), "researcher"),
])
def test_select_track(flags, track):
    assert select_track(**flags) == track


def test_parse_reads_prefixed_lines_and_their_continuations():
    output = """
      opener :  Hi Ana,
    thanks for the demo request.

    ASK: What are you using today
      and what is missing?
    ASK:
    Ask: Who signs off?
    ASK: Timeline?
    ASK: A fourth question is dropped
    NEXT: Book
    a 30-minute call.
    """
    assert parse(output) == (
        "Hi Ana, thanks for the demo request.",
        ["What are you using today and what is missing?", "Who signs off?", "Timeline?"],
        "Book a 30-minute call.",
    )


def test_parse_ignores_text_before_any_prefix():
    assert parse("Some preamble\nNEXT: Call.\nmore") == ("", [], "Call. more")
    assert parse("") == ("", [], "")


def test_a_broken_admin_template_falls_back_to_ours(tmp_path: Path):
    (tmp_path / "default.j2").write_text("OPENER: {{ 1 // 0 }}")
    context = {"greeting": "Ana", "lead": {"company": "Acme"}, "webinars": [], "emails_clicked": [],
               "pricing": False, "pages": []}
    track = render("default", None, context, str(tmp_path))
    assert track.opener == "Hi Ana, I'm following up on your interest at Acme. What are you looking to solve?"
    assert track.problem is not None and track.problem.startswith("custom talk-track template default.j2 failed")
    assert track.problem.endswith("the built-in one was used")


def test_a_persona_template_wins_and_lead_text_carries_no_marks(tmp_path: Path):
    (tmp_path / "default.vp_engineering.j2").write_text("OPENER: Hi {{ greeting }}, {{ 'docs' | em }}\nNEXT: Call")
    track = render("default", "VP Engineering", {"greeting": f"{EM_OPEN}Ana{EM_CLOSE}"}, str(tmp_path))
    assert (track.template, track.opener, track.next_step, track.problem) == (
        "default.vp_engineering.j2", f"Hi Ana, {EM_OPEN}docs{EM_CLOSE}", "Call", None)


def test_a_template_without_an_opener_gets_a_safe_one(tmp_path: Path):
    (tmp_path / "researcher.j2").write_text("ASK: What are you reading up on?")
    track = render("researcher", None, {"greeting": ""}, str(tmp_path))
    assert track.opener == "Hi there, thanks for your interest. What prompted you to look at us now?"
    assert track.questions == ["What are you reading up on?"]
    assert track.next_step == "Offer a short discovery call."
    assert track.problem == "template researcher.j2 wrote no OPENER: line"
