"""Smaller things reps noticed (issue 17): grammatical discovery questions whatever the topic string, page names,
first names, full stops, campaign noise, the system a score came from."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from briefs import talktrack
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.people import display_name, first_name_case
from briefs.qualification import system_name
from briefs.signals import ActivityView, LeadView, page_label

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
d = timedelta
TOPICS = ["APIs", "Data Governance", "SOC 2", "widget_lifecycle", "HubSpot migration", "ERP", "  predictive   maintenance ",
          "the widget lifecycle", "Supply-chain visibility"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("APIs", "APIs"), ("Data Governance", "data governance"), ("SOC 2", "SOC 2"), ("widget_lifecycle", "widget lifecycle"),
    ("HubSpot migration", "HubSpot migration"), ("ERP", "ERP"), ("  predictive   maintenance ", "predictive maintenance"),
    ("Supply-chain Visibility", "supply-chain visibility"), ("eCommerce", "eCommerce"), ("", ""),
])
def test_topic_words(raw, expected):
    assert talktrack.topic_words(raw) == expected


def researcher(topics):
    acts = [ActivityView("content_download", NOW - d(days=i + 1), title=f"Guide {i}", asset_type="ebook", topic=t)
            for i, t in enumerate(topics)]
    lead = LeadView(email="li.wei@fabrikam.example", first_name="li", last_name="Wei", company="Fabrikam Inc.")
    return build_brief(BriefInput(lead, acts, [], None, NOW))


@pytest.mark.parametrize("topic", TOPICS)
def test_english_questions_read_as_sentences_whatever_the_topic(topic):
    t = researcher([topic, "Data Governance"]).talk_track
    for line in [t.opener, *t.questions, t.next_step]:
        assert "  " not in line and "_" not in line and ".." not in line
        assert not re.search(r"\b(does|is) (APIs|SOC 2|data governance)\b", line)
    assert f"on {talktrack.topic_words(topic)} today?" in t.questions[0]
    if topic != "Data Governance":  # one topic twice is one topic
        assert "success with data governance" in t.questions[1]
    assert t.next_step.endswith("for Fabrikam Inc.")  # one full stop after "Inc."
    assert t.opener.startswith("Hi Li, ")


@pytest.mark.parametrize("locale", ["de", "fr", "es"])
@pytest.mark.parametrize("topic", ["APIs", "Data Governance", "SOC 2", "widget_lifecycle"])
def test_localised_questions_quote_the_topic_so_they_are_grammatical(locale, topic):
    ctx = {"hello": talktrack.hello(locale, "Li", "Wei", None), "greeting": "Li", "content": [{"title": "Guide"}],
           "topics": [topic], "pricing": False, "lead": {"company": "Fabrikam Inc."}}
    t = talktrack.render("researcher", None, ctx, locale=locale)
    assert t.problem is None and t.template == f"{locale}/researcher.j2"
    quoted = {"de": f"„{talktrack.topic_words(topic)}“", "fr": f"« {talktrack.topic_words(topic)} »",
              "es": f"«{talktrack.topic_words(topic)}»"}[locale]
    assert quoted in t.questions[0] and quoted in t.opener
    assert all(q.rstrip().endswith("?") for q in t.questions)
    assert "Hi " not in t.opener and "_" not in t.opener


def test_page_names_use_the_title_and_keep_acronyms():
    at = NOW - d(hours=1)
    assert page_label(ActivityView("web_visit", at, url="https://ourco.example/integrations/sap")) == "Integrations › SAP"
    assert page_label(ActivityView("web_visit", at, url="https://ourco.example/trust/soc2/")) == "Trust › SOC 2"
    assert page_label(ActivityView("web_visit", at, url="https://ourco.example/de/loesungen/erp-anbindung")) == \
        "Loesungen › ERP anbindung"
    assert page_label(ActivityView("web_visit", at, url="https://ourco.example/solutions/widgets")) == \
        "Solutions › Widgets"
    hubspot = ActivityView("web_visit", at, url="https://ourco.example/p/123", properties={"hs_page_title": "SAP connector"})
    assert page_label(hubspot) == "SAP connector"
    titled = ActivityView("web_visit", at, url="https://ourco.example/x", properties={"page_title": "Pricing | OurCo"})
    assert page_label(titled) == "Pricing"
    dash = ActivityView("web_visit", at, url="https://ourco.example/x",
                        properties={"page_title": "Integrations – SAP S/4HANA"})
    assert page_label(dash) == "Integrations – SAP S/4HANA"


@pytest.mark.parametrize(("raw", "expected"), [
    ("mike", "Mike"), ("MIKE", "Mike"), ("jean-luc", "Jean-Luc"), ("o'neil", "O'Neil"), ("DeShawn", "DeShawn"),
    ("mary ann", "Mary Ann"), ("  ", None), (None, None), ("élodie", "Élodie"),
])
def test_first_names_are_capitalised_unless_spelt_in_mixed_case(raw, expected):
    assert first_name_case(raw) == expected


def test_display_name_and_greeting_capitalise_the_first_name():
    assert display_name("mike", "Ross", "m@x.example") == "Mike Ross"
    assert LeadView(email="m@x.example", first_name="mike").greeting_name == "Mike"


def test_one_campaign_is_not_mentioned_and_two_are():
    acts = [ActivityView("content_download", NOW - d(days=2), title="A", campaign="Q4 ROI"),
            ActivityView("email_click", NOW - d(days=1), subject="Hi", campaign="q4 roi ")]
    lead = LeadView(email="a@b.example", first_name="Ana")
    assert "campaign" not in build_brief(BriefInput(lead, acts, [], None, NOW)).engagement_summary
    acts.append(ActivityView("webinar_attended", NOW - d(hours=3), title="W", campaign="Webinar series"))
    assert "across 2 campaigns" in build_brief(BriefInput(lead, acts, [], None, NOW)).engagement_summary


@pytest.mark.parametrize(("source", "expected"), [
    ("hubspot", "HubSpot"), ("marketo_sync", "Marketo"), ("Salesforce", "Salesforce"), ("api", None), ("csv", None),
    ("my-webhook", None), (None, None),
])
def test_system_name(source, expected):
    assert system_name(source) == expected


def test_a_stored_score_reason_names_the_system_in_words_a_rep_knows_or_nothing():
    lead = LeadView(email="a@b.example", first_name="Ana", score=110)
    for stored, shown in (("lead score reached 110 in api", "lead score reached 110 ·"),
                          ("lead score reached 110 in hubspot", "lead score reached 110 in HubSpot")):
        q = QualificationView("score_threshold", stored, NOW - d(minutes=1), NOW - d(minutes=1))
        status = build_brief(BriefInput(lead, [], [], q, NOW)).status_line + " ·"
        assert shown in status and " in api" not in status
