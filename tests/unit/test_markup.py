"""Brief text (briefs.markup): split into Slack-sized pieces, made safe for a terminal, times in words."""

from datetime import UTC, datetime, timedelta

import pytest

from briefs.markup import (
    EM_CLOSE,
    EM_OPEN,
    ago,
    day,
    duration,
    em,
    fit_mrkdwn,
    plain,
    shorten,
    split_mrkdwn,
    terminal_safe,
    to_mrkdwn,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
d = timedelta


def test_split_keeps_short_text_whole():
    assert split_mrkdwn("  We need SSO & SCIM by Q1.  ", 100, 1000) == (["We need SSO &amp; SCIM by Q1."], False)
    assert split_mrkdwn("", 100, 1000) == ([], False)
    assert split_mrkdwn("anything", 100, 0) == ([], True)


def test_split_cuts_between_words_within_each_limit():
    comments = ("Hi, we are evaluating vendors for our EMEA rollout <next quarter> and need *SSO*, audit logs "
                "and a DPA. Our current tool (Globex) keeps timing out on 40k contacts & our ops team is fed up. "
                "Budget is approved; please call me on +44 20 7946 0000 after 2pm.")
    pieces, cut = split_mrkdwn(comments, 60, 10_000)
    assert not cut
    assert all(len(p) <= 60 for p in pieces)
    assert "<" not in "".join(pieces) and "&lt;next quarter&gt;" in " ".join(pieces)
    assert " ".join(pieces) == to_mrkdwn(comments)  # nothing lost: each cut is at a space


def test_split_shortens_the_last_piece_when_the_total_runs_out():
    text = " ".join(f"word{i}" for i in range(200))
    pieces, cut = split_mrkdwn(text, 50, 120)
    assert cut
    assert sum(len(p) for p in pieces) <= 120
    assert pieces[-1].endswith("…")


def test_split_keeps_line_breaks_when_asked():
    pieces, cut = split_mrkdwn("Line one\nLine two", 100, 100, lines=True)
    assert (pieces, cut) == (["Line one\nLine two"], False)
    assert split_mrkdwn("Line one\nLine two", 100, 100) == (["Line one Line two"], False)


def test_split_cuts_a_word_longer_than_a_piece():
    pieces, cut = split_mrkdwn("x" * 250, 100, 1000)
    assert (pieces, cut) == (["x" * 100, "x" * 100, "x" * 50], False)


def test_terminal_safe_drops_escape_sequences_and_overrides_but_keeps_lines():
    evil = "Acme\x1b[2J\x1b]0;pwned\x07 \u202eevil\u202c\r\nnext\rline " + EM_OPEN + "x" + EM_CLOSE
    assert terminal_safe(evil) == "Acme[2J]0;pwned evil\nnext\nline x"


def test_plain_and_em():
    assert plain(f"a{EM_OPEN}b{EM_CLOSE}c") == "abc"
    assert plain(None) == ""
    assert em("  Pricing  ") == f"{EM_OPEN}Pricing{EM_CLOSE}"
    assert em(f"{EM_OPEN}{EM_CLOSE}  ") == ""


def test_shorten_never_leaves_an_emphasis_open():
    text = f"Downloaded {EM_OPEN}The complete guide to lead routing{EM_CLOSE} yesterday"
    out = shorten(text, 30)
    assert len(out) <= 30 and out.endswith(EM_CLOSE + "…")
    assert out.count(EM_OPEN) == out.count(EM_CLOSE) == 1


def test_fit_mrkdwn_counts_the_escaped_length():
    out = fit_mrkdwn("R&D <ops> " * 40, 100)
    assert len(out) <= 100 and out.endswith("…")
    assert "<" not in out


@pytest.mark.parametrize("then,words", [
    (None, "at an unknown time"),
    (NOW + d(minutes=2), "just now"),            # a clock a little ahead
    (NOW + d(days=3), "on Nov 27, 2026"),         # far ahead: a date
    (NOW - d(seconds=30), "just now"),
    (NOW - d(minutes=1), "1 min ago"),
    (NOW - d(minutes=59), "59 min ago"),
    (NOW - d(hours=1), "1 hour ago"),
    (NOW - d(hours=23), "23 hours ago"),
    (NOW - d(hours=24), "yesterday"),
    (NOW - d(days=2), "2 days ago"),
    (NOW - d(days=13), "13 days ago"),
    (NOW - d(days=20), "2 weeks ago"),
    (NOW - d(days=100), "3 months ago"),
    (NOW - d(days=400), "on Oct 20, 2025"),
])
def test_ago(then, words):
    assert ago(then, NOW) == words


def test_day_and_duration():
    assert day(datetime(2026, 3, 1, 23, 59, tzinfo=UTC)) == "Mar 1, 2026"
    assert [duration(n) for n in (0, 1, 2, 13, 14, 59, 60, 365)] == [
        "0 days", "1 day", "2 days", "13 days", "2 weeks", "8 weeks", "2 months", "12 months"]
