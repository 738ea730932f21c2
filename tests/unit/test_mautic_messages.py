"""Which answers of a Mautic form are the lead's own words (comments) and which are properties."""

import json
from pathlib import Path

import pytest

from bot.settings import Settings
from handlers.sources import mautic

VENDOR = Path(__file__).parent.parent / "fixtures" / "mautic" / "vendor"


def submit(results: dict, settings: Settings | None = None, form_fields: list | None = None):
    item = json.loads((VENDOR / "form_on_submit.json").read_text(encoding="utf-8"))
    item["submission"]["results"] = {"email": "lena.vogt@example.com", **results}
    if form_fields is not None:
        item["submission"]["form"]["fields"] = form_fields
    (event,) = mautic.translate(json.dumps({"mautic.form_on_submit": [item]}).encode(), None, settings).events
    return event


@pytest.mark.parametrize(("alias", "text"), [
    ("tell_us_more", "We need SSO and an EU data centre."),
    ("projektbeschreibung", "Neues Lager in Leipzig, Start im Mai."),
    ("nachricht", "Bitte um Rückruf."),
    ("mensaje", "Necesitamos una demo para el equipo."),
    ("commentaire", "Nous avons 3 sites."),
    ("your_question_for_sales", "Any SAP integration?"),
])
def test_the_usual_message_aliases_in_several_languages_are_comments(alias, text):
    event = submit({alias: text, "timeline": "Q3"})
    assert event.comments == text
    assert alias not in event.properties and event.properties["timeline"] == "Q3"


def test_long_free_text_under_any_alias_is_comments_not_a_truncated_property():
    story = "We operate 14 warehouses across Poland and Czechia. " * 8
    event = submit({"dein_anliegen_in_worten": story, "budget": "50k"})
    assert event.comments == story.strip()
    assert "dein_anliegen_in_worten" not in event.properties and event.properties["budget"] == "50k"
    multi_line = submit({"q7": "Line one\nline two"})
    assert multi_line.comments == "Line one\nline two"


def test_an_admins_message_fields_come_first_and_long_text_detection_can_be_off():
    settings = mautic.CONFIG.configure(Settings(), message_fields=("wunsch",), long_text_chars=0)
    event = submit({"wunsch": "Demo am Dienstag", "freitext_lang": "x " * 200}, settings)
    assert event.comments == "Demo am Dienstag"
    assert event.properties["freitext_lang"].startswith("x x")  # not a message here: a property
    default = submit({"wunsch": "Demo am Dienstag"})
    assert default.comments is None and default.properties["wunsch"] == "Demo am Dienstag"


def test_a_textarea_of_the_form_definition_is_comments():
    event = submit({"what_do_you_need": "Pricing for 40 seats", "seats": "40"},
                   form_fields=[{"alias": "what_do_you_need", "type": "textarea"}, {"alias": "seats", "type": "number"}])
    assert event.comments == "Pricing for 40 seats"


def test_several_free_text_answers_are_all_kept_each_named():
    event = submit({"message": "Call me after 3pm.", "tell_us_more": "We run SAP S/4."})
    assert event.comments == "message: Call me after 3pm.\n\ntell_us_more: We run SAP S/4."
    assert "message" not in event.properties and "tell_us_more" not in event.properties


def test_profile_answers_are_never_comments():
    event = submit({"company": "A very long company name " * 10, "timeline": "soon"})
    assert event.comments is None and "company" not in event.properties
