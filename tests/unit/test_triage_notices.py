"""Triage notices and triage counts: lead text is data within Block Kit's limits; counts by rule."""

import json
import re
from datetime import UTC, datetime, timedelta

from briefs import stats
from briefs.notices import ACTION_OVERRIDE, notice, notice_text, overridden, their_words
from briefs.signals import ActivityView, LeadView
from briefs.stats import StatRow
from briefs.triage import TriageInput, triage

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _closed(comments: str):
    lead = LeadView(email="j.moreau@atelier-moreau.example", first_name="Julie", last_name="Moreau <b>*x*</b>",
                    company="Atelier Moreau")
    acts = [ActivityView("unsubscribe", NOW - timedelta(days=5)),
            ActivityView("email_sent", NOW - timedelta(days=3), subject="Offre de Noël", campaign="noel-1"),
            ActivityView("form_submit", NOW - timedelta(minutes=2), form="Contact", comments=comments)]
    result = triage(TriageInput(lead, acts, reason="hand_raiser"))
    return lead, acts, result


def test_a_close_notice_quotes_the_whole_form_escaped_and_says_sends_went_on():
    lead, acts, result = _closed("Arrêtez de m'envoyer des e-mails <!here> *MAINTENANT* ~svp~ & merci")
    words = their_words(result, acts)
    msg = notice(42, lead, result, words)
    shown = json.dumps(msg["blocks"], ensure_ascii=False)
    assert "<!here>" not in shown and "&lt;!here&gt;" in shown and "*MAINTENANT*" not in shown
    assert "<b>" not in shown and "&amp; merci" in shown
    assert "suppression bug" in shown and "1 send" in shown
    button = msg["blocks"][-1]["elements"][0]
    assert (button["action_id"], button["value"]) == (ACTION_OVERRIDE, "42")
    assert "Arrêtez de m'envoyer" in notice_text(lead, result, words)


def test_a_huge_form_stays_within_block_kit_limits():
    lead, acts, result = _closed("Bitte löschen Sie meine Daten. " + "<&>*_ " * 3000)
    msg = notice(7, lead, result, their_words(result, acts))
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in msg["blocks"])
    assert len(msg["text"]) <= 3000 and len(msg["blocks"]) <= 50


def test_the_overridden_notice_names_who_and_drops_the_button():
    lead, acts, result = _closed("Please remove me from your mailing list")
    after = overridden(notice(3, lead, result), "U0OMAR", NOW)
    shown = json.dumps(after["blocks"])
    assert ACTION_OVERRIDE not in shown and "<@U0OMAR> said this is a real lead" in shown


def _row(delivery=None, category=None, rule=None, overridden=False, status="open"):
    return StatRow(source="Web", campaign=None, qualified_at=NOW, posted=True, claimed_at=None, contacted_at=None,
                   status=status, status_reason=None, triage_delivery=delivery, triage_category=category,
                   triage_rule=rule, overridden=overridden)


def test_stats_count_automatic_not_a_fit_by_category_closes_and_overrides_by_rule():
    rows = [_row("page"),
            _row("close", None, "do_not_contact.request", status="do_not_contact"),
            _row("route", "vendor_pitch", "vendor_pitch.pitch", status="not_a_fit"),
            _row("route", "vendor_pitch", "vendor_pitch.pitch", status="not_a_fit"),
            _row("route", "competitor", "competitor.listed", overridden=True, status="not_a_fit"),
            _row("digest_line", None, "machine_activity.machine_opens_only", status="closed")]
    figures = stats.build(rows, 7, NOW)
    assert figures.triage.do_not_contact == 1 and figures.triage.machine_opens_only == 1
    assert figures.triage.not_a_fit == (("Vendor pitch", 2),)
    assert dict((r, (n, o)) for r, n, o in figures.triage.by_rule)["competitor.listed"] == (1, 1)
    assert figures.total.not_a_fit == 2 and dict(figures.total.reasons) == {"Automatic: Vendor pitch": 2}
    assert figures.total.open == 1
    text = stats.to_text(figures)
    assert "competitor.listed 1 of 1 (100%)" in text and "vendor_pitch.pitch 0 of 2 (0%)" in text
    assert "stats_triage" in json.dumps(stats.to_blocks(figures))


def test_a_long_quote_is_shortened_before_escaping_so_no_escape_is_cut_in_half():
    lead, acts, result = _closed("Bitte löschen Sie meine Daten & keine Anrufe. " + "Q&A & R&D & <b> " * 400)
    msg = notice(8, lead, result, their_words(result, acts))
    quoted = next(b["text"]["text"] for b in msg["blocks"] if b.get("block_id") == "triage_words")
    # Every & starts a whole escape: &amp; &lt; &gt;, never a fragment such as "&am" at the cut.
    assert re.findall(r"&(?!amp;|lt;|gt;)", quoted) == []
    assert len(quoted) <= 3000


def test_the_stats_triage_section_keeps_one_line_per_figure():
    rows = [_row("close", None, "do_not_contact.request", status="do_not_contact"),
            _row("route", "vendor_pitch", "vendor_pitch.pitch", status="not_a_fit")]
    section = next(b for b in stats.to_blocks(stats.build(rows, 7, NOW))["blocks"] if b.get("block_id") == "stats_triage")
    assert "\nOverrides by rule" in section["text"]["text"]  # folded to one line before
