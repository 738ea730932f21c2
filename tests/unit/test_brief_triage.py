"""The brief and triage agree on what a touch is: machine opens are left out of the count, the readiness line and
re-engagement's window, and the brief says how many; personal and shared addresses are flagged, not dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from briefs.blocks import to_blocks
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import (
    OFF,
    ActivityView,
    LeadView,
    machine_opens,
    touch_rows,
    touches,
    window_touches,
)
from briefs.text import to_text_brief
from briefs.triage import TriagePolicy, machine_rule, split_touches
from tests.support.blockkit import validate_message_blocks

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
NOW = MONDAY + timedelta(days=4, hours=16, minutes=40)
APPLE = {"user_agent": "Mozilla/5.0", "ip": "17.58.101.14"}
OUTLOOK = {"user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Microsoft Outlook 16.0.17928", "ip": "84.17.33.202"}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute, second=second) + timedelta(days=day)


def mail(sent: datetime, subject: str, mailing: str, opened_after: timedelta | None, **props) -> list[ActivityView]:
    rows = [ActivityView("email_sent", sent, subject=subject, campaign="Newsletter DE/EN", properties={"mailing_id": mailing}),
            ActivityView("email_delivered", sent + timedelta(seconds=1), subject=subject, campaign="Newsletter DE/EN",
                         properties={"mailing_id": mailing})]
    if opened_after is not None:
        rows.append(ActivityView("email_open", sent + timedelta(seconds=1) + opened_after, subject=subject,
                                 campaign="Newsletter DE/EN", properties={"mailing_id": mailing, **props}))
    return rows


def newsletter_week() -> list[ActivityView]:
    """A week of newsletters to an iPhone user with Mail Privacy Protection on: twelve opens logged two seconds
    after delivery by Apple's relay, one real read in Outlook at the office, one click on the pricing link, two
    pricing visits and a download."""
    subjects = ["Ihr November-Update", "Webinar: from MQL to meeting in 5 minutes", "Nur noch 3 Plätze",
                "5 mitos del speed-to-lead", "Case study: Brightforge GmbH", "Le rapport routing 2026",
                "New: Slack digests", "Office hours this Thursday", "Your trial recap", "Black Friday: -20 %",
                "Roadmap Q1", "Holiday support hours"]
    rows: list[ActivityView] = []
    for i, subject in enumerate(subjects):
        sent = at(i % 5, 6 + i // 5, 30)
        rows += mail(sent, subject, f"m-{4100 + i}", timedelta(seconds=2), **APPLE)
    rows += mail(at(2, 8, 0), "Pricing that scales with your team", "m-4200", timedelta(hours=1, minutes=17), **OUTLOOK)
    rows.append(ActivityView("email_click", at(2, 9, 18), subject="Pricing that scales with your team",
                             url="https://ourco.example/pricing?utm_source=newsletter", properties={"mailing_id": "m-4200"}))
    rows += [
        ActivityView("web_visit", at(2, 9, 18, 40), url="https://ourco.example/pricing?utm_source=newsletter", title="Pricing"),
        ActivityView("web_visit", at(3, 13, 2), url="https://ourco.example/de/preise", title="Preise"),
        ActivityView("content_download", at(3, 13, 9), title="Speed-to-lead benchmarks 2026", asset_type="whitepaper"),
    ]
    return rows


def gmail_lead(**kw) -> LeadView:
    return LeadView(email="jana.novak.1988@gmail.com", first_name="Jana", last_name="Nováková", title="Head of Sales Ops",
                    company="Brightforge GmbH", **kw)


def brief_of(lead: LeadView, acts: list[ActivityView], reason: str = "score_threshold", **kw):
    q = QualificationView(reason=reason, detail="score crossed 80 (now 86)" if reason == "score_threshold" else
                          "asked to talk to sales", triggered_at=at(3, 13, 9), qualified_at=at(3, 13, 10), id=412)
    return build_brief(BriefInput(lead=lead, activities=acts, qualification=q, now=NOW, **kw), Rules())


def test_machine_opens_are_not_touches_in_the_one_rule():
    acts = newsletter_week()
    assert len(machine_opens(acts)) == 12
    # 1 open read in Outlook + 1 click + 2 pages (different pages) + 1 download; the dozen prefetches are left out.
    assert len(touches(touch_rows(acts))) == 5
    # OFF: every open a person's (triage disabled), as before.
    assert len(touches(touch_rows(acts, OFF))) == 17
    # triage's split and the touch rule are the same rule.
    assert split_touches(acts).human_touches == len(touches(touch_rows(acts)))


def test_the_window_of_re_engagement_counts_human_touches():
    acts = newsletter_week()
    assert len(window_touches(touch_rows(acts), None)) == 5
    assert len(window_touches(touch_rows(acts), at(-40, 10))) == 6


def test_the_brief_says_human_touches_and_machine_opens_left_out():
    brief = brief_of(gmail_lead(), newsletter_week())
    assert brief.touches.human_touches == 5 and brief.touches.machine_opens == 12
    assert brief.engagement_summary.startswith("5 human touches (12 machine opens left out) in ")
    assert brief.readiness.touches == 5
    assert brief.readiness.label == "Ready: 5 human touches, within the usual 5–7"
    assert "5 human touches (12 machine opens left out)" in brief.why_now
    # The prefetched newsletters are not "opened" in the list; the one read and clicked is.
    assert not any("Ihr November-Update" in line for line in brief.engagement)
    assert any("Pricing that scales with your team" in line and "opened and clicked" in line for line in brief.engagement)

    text = to_text_brief(brief)
    assert "5 human touches (12 machine opens left out)" in text
    message = to_blocks(brief)
    assert validate_message_blocks(message["blocks"], message["text"]) == []
    slack = "\n".join(str(b) for b in message["blocks"])
    assert "5 human touches (12 machine opens left out)" in slack and "Ready: 5 human touches" in slack


def test_without_machine_opens_the_brief_says_touches_as_before():
    acts = [a for a in newsletter_week() if a.properties.get("ip") != APPLE["ip"]]
    brief = brief_of(LeadView(email="jana.novak@brightforge.example", first_name="Jana", company="Brightforge GmbH"), acts)
    assert brief.engagement_summary.startswith("5 touches in ")
    assert "machine" not in to_text_brief(brief)
    assert brief.flags == []


def test_a_policy_without_triage_counts_every_open():
    brief = brief_of(gmail_lead(), newsletter_week(), triage=TriagePolicy(enabled=False))
    assert brief.touches.machine_opens == 0 and brief.readiness.touches == 17
    assert brief.flags == []  # triage off: no flags either


def test_a_longer_delay_setting_is_the_briefs_too():
    policy = TriagePolicy(machine_open_seconds=0, proxy_networks=(), proxy_user_agents=())
    assert machine_opens(newsletter_week(), machine_rule(policy)) == []
    assert brief_of(gmail_lead(), newsletter_week(), triage=policy).touches.machine_opens == 0


def test_a_gmail_hand_raiser_is_briefed_with_the_personal_address_flag():
    hand = ActivityView("form_submit", at(4, 11, 52), form="Contact Sales",
                        comments="Wir evaluieren gerade Tools für 25 SDRs, Budget ist freigegeben. Call me <tomorrow> *9am*?")
    brief = brief_of(gmail_lead(), [*newsletter_week(), hand], reason="hand_raiser")
    assert brief.flags == ["Personal address (gmail.com): the company, Brightforge GmbH, comes from the form and is unverified."]
    text = " ".join(to_text_brief(brief).split())  # wrapped at 100 columns
    assert "⚠️ Personal address (gmail.com): the company, Brightforge GmbH, comes from the form and is unverified." in text
    message = to_blocks(brief)
    assert validate_message_blocks(message["blocks"], message["text"]) == []
    flags = next(b for b in message["blocks"] if b.get("block_id") == "brief_flags")
    assert "Personal address (gmail.com)" in flags["text"]["text"]
    # The talk track checks who they are first: the company is only what the form said. She wrote in German,
    # so the track is German.
    assert brief.talk_track.questions[0] == "Für welches Unternehmen ist die Anfrage, und welche Rolle haben Sie dort?"
    company_address = brief_of(LeadView(email="jana.novak@brightforge.example", first_name="Jana",
                                        company="Brightforge GmbH"), [*newsletter_week(), hand], reason="hand_raiser")
    assert not any("Für welches Unternehmen" in q for q in company_address.talk_track.questions)


def test_a_shared_inbox_and_a_throwaway_address_are_flagged_and_escaped():
    lead = LeadView(email="info@kanzlei-mueller.example", company="Kanzlei Müller & <Partner> *mbB*")
    brief = brief_of(lead, newsletter_week())
    assert brief.flags == ["Shared inbox (info@): whoever reads it may not be the person who asked; the company, "
                           "Kanzlei Müller & <Partner> *mbB*, comes from the form and is unverified."]
    message = to_blocks(brief)
    assert validate_message_blocks(message["blocks"], message["text"]) == []
    flags = next(b for b in message["blocks"] if b.get("block_id") == "brief_flags")["text"]["text"]
    assert "&lt;Partner&gt;" in flags and "&amp;" in flags and "*mbB*" not in flags  # data, never markup

    throwaway = brief_of(LeadView(email="x7@mailinator.com"), newsletter_week())
    assert throwaway.flags == ["Throwaway address (mailinator.com): no company was given."]


def test_flags_triage_found_are_the_briefs():
    from briefs.triage import Finding

    opt_out = Finding("flag.email_opt_out", "Opted out of email in the CRM (hs_email_optout): call, do not email "
                      "or add them to a sequence.", "hs_email_optout")
    brief = brief_of(gmail_lead(), newsletter_week(), flags=(opt_out,))
    assert brief.flags == [opt_out.reason]


def test_a_huge_history_of_flags_and_opens_stays_within_block_kit():
    acts = newsletter_week() * 40
    lead = LeadView(email="sales@" + "x" * 60 + ".example", company="Ünïcødé " * 200)
    message = to_blocks(brief_of(lead, acts))
    assert validate_message_blocks(message["blocks"], message["text"]) == []


def test_a_lead_only_machines_opened_has_no_human_touch():
    acts = [a for a in newsletter_week() if a.properties.get("ip") == APPLE["ip"] or a.kind.startswith("email_")
            and a.kind in ("email_sent", "email_delivered")]
    brief = brief_of(gmail_lead(), acts)
    assert brief.touches.human_touches == 0 and brief.touches.machine_opens == 12
    assert brief.engagement_summary == "No human touch yet (12 machine opens left out)"
    assert brief.readiness.label.startswith("Early: 0 human touches;")
    assert not any("opened" in line and "“" in line for line in brief.engagement)  # no newsletter "opened"
