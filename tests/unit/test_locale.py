"""Talk tracks in the lead's language: the customary greeting, native questions, locale overrides, the
language line at the top of the brief."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from briefs import model, talktrack
from briefs.blocks import to_blocks
from briefs.callback import CallbackWindow
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import Rules
from briefs.signals import ActivityView, LeadView, own_words
from briefs.text import to_text_brief
from tests.support.blockkit import assert_valid_message

PARIS = ZoneInfo("Europe/Paris")
# Monday 23 November 2026, 10:30 in Paris: business hours there and in UTC.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def lead(first, last, email, company=None):
    return LeadView(email=email, first_name=first, last_name=last, company=company, owner_email="rep@ourco.example")


def form(comments, name="Contact Sales", at=NOW - timedelta(minutes=3), **props):
    return ActivityView("form_submit", at, form=name, comments=comments, properties=props)


def hand_raiser(at=NOW - timedelta(minutes=3)):
    return QualificationView("hand_raiser", "filled in the Contact Sales form", at, at, id=1)


def in_language(monkeypatch, language, callback=None):
    """The words helper's detector and callback reader, as their result: OwnWords carry them."""
    real = own_words
    monkeypatch.setattr(model, "own_words", lambda a: replace(real(a), language=language, callback=callback))


@pytest.mark.parametrize(("locale", "first", "last", "salutation", "expected"), [
    ("de", "Jürgen", "Müller", "Herr", "Guten Tag Herr Müller"),
    ("de", "anna", "Schäfer-Lindqvist", "Frau", "Guten Tag Frau Schäfer-Lindqvist"),
    ("de", "Pierre", "Dupont", None, "Guten Tag Pierre Dupont"),  # no title known: the full name, never a guess
    ("de", "Kim", "Weber", "divers", "Guten Tag Kim Weber"),
    ("de", None, None, "Herr", "Guten Tag"),
    ("fr", "Pierre", "Dupont", "M.", "Bonjour Monsieur Dupont"),
    ("fr", "Hélène", "Leroy", "Mme", "Bonjour Madame Leroy"),
    ("fr", "Pierre", "Dupont", "", "Bonjour Pierre"),
    ("es", "Lucía", "García", "Sra.", "Buenos días, señora García"),
    ("es", "Pierre", "Dupont", None, "Buenos días, Pierre"),
    (None, "mike", "Ross", "Mr", "Hi mike"),  # hello() takes the name as given; the brief capitalises it
])
def test_customary_greeting_per_locale(locale, first, last, salutation, expected):
    assert talktrack.hello(locale, first, last, salutation) == expected


def test_locale_templates_are_looked_up_before_english_and_personas_within_a_locale():
    assert talktrack.template_names("hand_raiser", "Executive Buyer", "de") == [
        "de/hand_raiser.executive_buyer.j2", "de/hand_raiser.j2", "hand_raiser.executive_buyer.j2", "hand_raiser.j2"]
    assert talktrack.template_names("hand_raiser", None, None) == ["hand_raiser.j2"]
    assert talktrack.locale_of("DE-at") == "de" and talktrack.locale_of("it") is None and talktrack.locale_of(None) is None


def test_german_hand_raiser_gets_a_german_opener_with_herr_and_the_language_line(monkeypatch):
    in_language(monkeypatch, "de")
    comments = ("Guten Tag, wir suchen eine Lösung für unsere 12 Werke in Bayern und Sachsen. "
                "Wir brauchen das bis Ende Q2 2027. Bitte rufen Sie mich an.")
    acts = [form(comments, name="Kontakt Vertrieb", Anrede="Herr")]
    rules = Rules(hand_raiser_forms=(*Rules().hand_raiser_forms, "kontakt vertrieb"))
    brief = build_brief(BriefInput(lead("jürgen", "Müller", "j.mueller@werkzeugbau.example", "Werkzeugbau Huber GmbH"),
                                   acts, [], hand_raiser(), NOW), rules)
    t = brief.talk_track
    assert t.track == "hand_raiser" and t.template == "de/hand_raiser.j2" and t.problem is None
    assert t.opener.startswith("Guten Tag Herr Müller, vielen Dank für Ihre Anfrage über unser Formular „Kontakt Vertrieb“.")
    assert "Hi " not in t.opener and all("?" in question for question in t.questions)
    assert any(question.startswith("Wer entscheidet") or question.startswith("Welches Problem") for question in t.questions)
    assert brief.language_line == "🇩🇪 Wrote in German: call in German"
    payload = to_blocks(brief)
    assert_valid_message(payload)
    assert payload["blocks"][1]["block_id"] == "brief_language"
    assert "Wrote in German: call in German" in payload["blocks"][1]["text"]["text"]
    text = to_text_brief(brief)
    assert text.splitlines()[1] == "🇩🇪 Wrote in German: call in German"


def test_french_lead_without_civility_is_greeted_by_first_name_and_the_callback_time_is_on_the_line(monkeypatch):
    window = CallbackWindow(datetime(2026, 11, 24, 9, tzinfo=PARIS), datetime(2026, 11, 24, 11, tzinfo=PARIS),
                            "Europe/Paris", "rappel en français le matin")
    in_language(monkeypatch, "fr", window)
    acts = [form("Bonjour, nous cherchons à remplacer notre outil actuel avant la fin de l'année. "
                 "Merci de me rappeler en français le matin.", name="Contacter le service commercial")]
    rules = Rules(hand_raiser_forms=(*Rules().hand_raiser_forms, "contacter le service commercial"))
    brief = build_brief(BriefInput(lead("Pierre", "Dupont", "pierre.dupont@exemple.fr"), acts, [], hand_raiser(),
                                   NOW), rules)
    assert brief.talk_track.opener.startswith("Bonjour Pierre, merci de nous avoir contactés via notre formulaire "
                                              "« Contacter le service commercial ».")
    assert brief.language_line == "🇫🇷 Wrote in French: call in French, mornings (CET)"


def test_spanish_and_unknown_languages(monkeypatch):
    in_language(monkeypatch, "es")
    acts = [form("Hola, necesitamos una demo para 300 usuarios en México y España lo antes posible.",
                 tratamiento="Sra.")]
    brief = build_brief(BriefInput(lead("lucía", "García", "lgarcia@empresa.example"), acts, [], hand_raiser(), NOW))
    assert brief.talk_track.opener.startswith("Buenos días, señora García, gracias por contactarnos")
    assert brief.talk_track.template == "es/hand_raiser.j2"
    assert brief.language_line == "🇪🇸 Wrote in Spanish: call in Spanish"

    in_language(monkeypatch, "en")
    english = build_brief(BriefInput(lead("mike", "Ross", "mike@acme.example"), acts, [], hand_raiser(), NOW))
    assert english.language_line is None and english.talk_track.opener.startswith("Hi Mike, thanks for reaching out")

    in_language(monkeypatch, "it")  # no Italian templates: English words, but the rep is told the language
    italian = build_brief(BriefInput(lead("Giulia", "Rossi", "g.rossi@ditta.example"), acts, [], hand_raiser(), NOW))
    assert italian.talk_track.template == "hand_raiser.j2"
    assert italian.language_line == "🇮🇹 Wrote in Italian: call in Italian"


def test_admin_overrides_a_locale_as_a_persona_and_the_sandbox_holds(monkeypatch, tmp_path):
    in_language(monkeypatch, "de")
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "hand_raiser.cfo.j2").write_text("OPENER: {{ hello }}, hier spricht Ihr CFO-Team.\nNEXT: anrufen\n")
    (tmp_path / "de" / "hand_raiser.j2").write_text("OPENER: {{ hello }}, eigene Vorlage.\n")
    (tmp_path / "hand_raiser.j2").write_text("OPENER: English override {{ greeting }}\n")
    rules = Rules(templates_dir=str(tmp_path))
    cfo = replace(lead("Jürgen", "Müller", "jm@firma.example"), persona="CFO")
    acts = [form("Wir brauchen ein Angebot für 40 Standorte.", Anrede="Herr")]
    brief = build_brief(BriefInput(cfo, acts, [], hand_raiser(), NOW), rules)
    assert brief.talk_track.opener == "Guten Tag Herr Müller, hier spricht Ihr CFO-Team."
    assert brief.talk_track.template == "de/hand_raiser.cfo.j2"
    other = build_brief(BriefInput(replace(cfo, persona=None), acts, [], hand_raiser(), NOW), rules)
    assert other.talk_track.opener == "Guten Tag Herr Müller, eigene Vorlage."

    (tmp_path / "de" / "hand_raiser.j2").write_text(
        "OPENER: {{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    evil = build_brief(BriefInput(replace(cfo, persona=None), acts, [], hand_raiser(), NOW), rules)
    talktrack.environment.cache_clear()
    assert evil.talk_track.problem and "built-in one was used" in evil.talk_track.problem
    assert evil.talk_track.opener.startswith("Guten Tag Herr Müller, vielen Dank für Ihre Anfrage")


def _context(locale, **over):
    ctx = {
        "hello": talktrack.hello(locale, "Jürgen", "Müller", "Herr"), "greeting": "Jürgen", "locale": locale,
        "lead": {"name": "Jürgen Müller", "first_name": "Jürgen", "company": "Huber & Söhne GmbH", "title": "CIO",
                 "persona": None},
        "reason": "hand_raiser", "detail": "d", "note": None,
        "content": [{"title": "ERP-Leitfaden <2027>", "type": "e-book", "topic": "ERP"}], "topics": ["SOC 2", "APIs"],
        "pricing": True, "pages": ["Integrations › SAP"], "webinars": ["Widgets live"], "emails_clicked": ["News"],
        "words": {"quote": "Wir brauchen 12 Werke bis Q2.", "form": "Kontakt", "referral": "Frau Weber empfahl Sie",
                  "need": "12 Werke anbinden", "timeline": "bis Q2", "budget": None},
        "customer": {"is_customer": True, "since": "2021", "sentiment": "promoter", "label": "NPS 10",
                     "promoter": True, "unhappy": False, "reengaged": {"quiet": "5 months", "touches": 4,
                                                                        "window": "7 days"}},
        "readiness": {"touches": 5, "stage": "ready", "machine_opens": 0},
        "address": {"personal": True, "shared": False},
        "lifecycle": {"renewal": {"on": "Jan 18, 2027", "in": "in 6 weeks", "value": "€48,000 ARR"},
                      "risks": ["unhappy", "competitor", "cancellation"],
                      "win_back": {"left": "June 2025", "reason": "Preis zu hoch", "theme": "price",
                                   "changed": ["Preise & Pläne (2 visits)"], "came_back": "3 days ago"}},
    }
    ctx.update(over)
    return ctx


@pytest.mark.parametrize("locale", ["de", "fr", "es"])
@pytest.mark.parametrize("track", ["hand_raiser", "default", "researcher", "detractor", "customer", "reengaged_customer",
                                   "at_risk", "win_back"])
def test_every_track_has_a_native_template_in_every_locale(locale, track):
    t = talktrack.render(track, None, _context(locale), locale=locale)
    assert t.problem is None and t.template == f"{locale}/{track}.j2"
    assert t.opener.startswith(talktrack.hello(locale, "Jürgen", "Müller", "Herr") + ", ")
    assert 2 <= len(t.questions) <= 3 and all(q.endswith("?") for q in t.questions)
    assert t.next_step and ".." not in t.next_step and "Hi " not in t.opener
    english = talktrack.render(track, None, _context(None), locale=None)
    assert english.opener != t.opener and english.questions != t.questions
