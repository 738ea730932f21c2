"""A hand-raiser's own words from real forms: cleaned, read for facts, its language told (briefs.cleaning,
briefs.facts, briefs.language, briefs.words), and shown in the brief and the "Show full message" modal."""

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from briefs import words as reading
from briefs.blocks import ACTION_FULL_MESSAGE, full_message_view, read_full_message_value, to_blocks
from briefs.cleaning import QUOTE_LIMIT, clean, short_quote
from briefs.facts import extract
from briefs.language import detect
from briefs.model import BriefInput, QualificationView, build_brief
from briefs.rules import DEFAULT_HAND_RAISER_FORMS
from briefs.signals import ActivityView, LeadView, is_hand_raiser_form, own_words
from briefs.text import to_text_brief
from tests.support import comments as C
from tests.support.blockkit import assert_valid_message, validate_view

# Friday 4 Dec 2026, 15:30 in Berlin: a working afternoon.
FRIDAY = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
# Wednesday 2 Dec 2026, 10:00 in New York.
WEDNESDAY = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
HEADER_WORDS = re.compile(r"\b(?:Subject|Sent|From|To|Von|Gesendet|Betreff|Objet|Asunto|Enviado)\s?:|\bRE:|\bAW:", re.I)


def facts_of(text, props=None, at=FRIDAY):
    r = reading.read(text, props or {}, at)
    return r, {f.key: f for f in r.facts}


# --- Cleaning ---------------------------------------------------------------------------------------------

def test_a_forwarded_signed_disclaimed_encoded_chain_leaves_only_their_message():
    c = clean(C.FORWARDED_EN)
    assert c.forwarded and {"a quoted email", "a signature"} <= set(c.removed)
    text = c.text
    assert text.startswith("I'm forwarding the thread below & would like a demo.")  # greeting line gone, &#39; &amp;
    assert "I am free Monday 9-11 CET for a call." in text
    for clutter in ("&amp;", "&#39;", "Original Message", "Klaus", "Subject", "Best regards", "Jonas Weber",
                    "Industriestraße", "+49 711", "www.brightforge", "CONFIDENTIALITY", "delete it"):
        assert clutter not in text, clutter


@pytest.mark.parametrize("raw,kept,gone", [
    (C.REPLY_DE, "Bitte rufen Sie mich am Dienstag zwischen 9 und 11 Uhr an.",
     ("Mit freundlichen Grüßen", "Hauptstraße", "+49 89", "vertrauliche", "Von:", "Betreff", "kümmere")),
    (C.FRENCH, "Merci de me rappeler en français le matin, de préférence mardi.",
     ("Cordialement", "rue de la Paix", "+33 1", "confidentiels", "Bonjour")),
    (C.SPANISH, "¿Podrían enviarnos una propuesta económica?",
     ("Saludos cordiales", "Calle Mayor", "+34 600", "confidencial", "Hola")),
    (C.REPLY_ES, "Es imprescindible la integración con Sage 200.", ("escribió", "Has pedido")),
    (C.MOJIBAKE, "We need a WMS for our plant in München & Köln.\nCall me after 3pm EST.", ("<br>", "Ã", "&amp;", "Bob")),
])
def test_cleaning_in_four_languages(raw, kept, gone):
    text = clean(raw).text
    assert kept in text
    for clutter in gone:
        assert clutter not in text, clutter


@pytest.mark.parametrize("raw,expected,forwarded", [
    ("Can we get a demo next week? We have 3 DCs and 40 users on NetSuite.\n\nSent from my iPhone\n\n"
     "On Mon, Nov 30, 2026 at 4:12 PM Klaus Richter <k@x.example> wrote:\n> Can you ask them for a demo?\n> Thanks",
     "Can we get a demo next week? We have 3 DCs and 40 users on NetSuite.", False),
    ("Please call me, our Descartes contract ends in March.\nJohn Smith\nVP Operations, Acme Freight\n"
     "+1 (555) 123-4567\njohn@acme.example", "Please call me, our Descartes contract ends in March.", False),
    ("We want pricing for 12 stores.\nThis message is confidential and may be privileged. If you are not the "
     "intended recipient, please delete it.", "We want pricing for 12 stores.", False),
    ("Wir suchen ein neues WMS.\n\n--\nMax Mustermann\nGeschäftsführer", "Wir suchen ein neues WMS.", False),
    ("Nous voulons une démo.\n\nLe lun. 30 nov. 2026 à 10:15, Jean Dupont <j@x.fr> a écrit :\n> Peux-tu demander ?",
     "Nous voulons une démo.", False),
    ("FW: Demo request\n\n---------- Forwarded message ---------\nFrom: Ana Ruiz <ana@x.example>\n"
     "Date: Mon, Nov 30, 2026 at 9:00 AM\nSubject: Demo request\nTo: <sales@x.example>\n\n"
     "Hi, we'd like a demo for 5 sites. Thanks, Ana", "Hi, we'd like a demo for 5 sites. Thanks, Ana", True),
])
def test_chains_signatures_and_notices_as_mail_clients_write_them(raw, expected, forwarded):
    c = clean(raw)
    assert (c.text, c.forwarded) == (expected, forwarded)


def test_a_forward_with_nothing_above_it_is_the_forwarded_message_without_its_headers():
    c = clean(C.FORWARD_ONLY_FR)
    assert c.forwarded
    assert c.text.startswith("Bonjour, nous aimerions une démonstration de votre solution pour nos 2 entrepôts")
    assert not HEADER_WORDS.search(c.text) and "Sophie Martin" not in c.text and "Message transféré" not in c.text


def test_a_plain_comment_is_left_as_typed():
    c = clean(C.SHORT_EN)
    assert c.text == C.SHORT_EN and not c.forwarded and c.removed == ()  # its phone number is part of the message


def test_the_quote_is_cut_on_a_sentence_or_word_boundary():
    text = clean(C.FORWARDED_EN).text
    quote = short_quote(text)
    assert len(quote) <= QUOTE_LIMIT + 1 and quote.endswith("…") and len(text) > QUOTE_LIMIT
    assert quote[:-1].rstrip().endswith(".")  # after a whole sentence
    assert text.startswith(quote[:-1].rstrip())
    one_long_sentence = "We need " + " ".join(["warehouse"] * 80) + " software"
    cut = short_quote(one_long_sentence)
    assert cut.endswith("warehouse…") and len(cut) <= QUOTE_LIMIT
    assert short_quote("Short and sweet.") == "Short and sweet."


# --- Facts ------------------------------------------------------------------------------------------------

def test_the_forwarded_chain_gives_the_right_facts_and_none_from_the_headers():
    r, f = facts_of(C.FORWARDED_EN)
    assert r.language == "en"
    assert "Maria Lopez referred me" in f["referral"].text
    assert "Manhattan SCALE" in f["incumbent"].text and f["incumbent"].value == "contract ends 30 Jun 2027"
    assert f["budget"].value == "EUR 120k"
    assert "CFO and the VP Supply Chain" in f["decides"].text
    assert "SAP S/4HANA integration" in f["must_haves"].text
    assert f["asks"].text.startswith("Can you send us a quote for 14 sites")
    assert f["timeline"].value == "15 Mar 2027"
    assert "14 warehouses" in f["scale"].text and "38,000 SKUs" in f["scale"].text
    for fact in r.facts:  # nothing from the quoted email or its headers
        assert not HEADER_WORDS.search(fact.text) and "January" not in fact.text and "TBD" not in fact.text
    window = r.callback
    assert window is not None and window.zone == "Europe/Berlin"
    local = window.starts.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.strftime("%a %d %H:%M"), window.ends.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")) == \
        ("Mon 07 09:00", "11:00")
    assert f["callback"].value == "Mon 7 Dec, 09:00–11:00 CET"


def test_german_facts_and_callback():
    r, f = facts_of(C.REPLY_DE)
    assert r.language == "de"
    assert "SAP EWM" in f["incumbent"].text and f["incumbent"].value == "contract ends 2027"
    assert "80.000 €" in f["budget"].text  # "ca." does not end the sentence
    assert "Geschäftsführung" in f["decides"].text
    assert f["scale"].text == "6 Werken"
    assert r.callback is not None and r.callback.zone == "Europe/Berlin"
    assert r.callback.starts == datetime(2026, 12, 8, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Tuesday
    assert "their zone, from their language" in f["callback"].value


def test_french_facts_language_and_morning_callback():
    r, f = facts_of(C.FRENCH)
    assert r.language == "fr"
    assert "Generix" in f["incumbent"].text and f["incumbent"].value == "contract ends Sep 2027"
    assert "Sage X3" in f["must_haves"].text
    assert f["scale"].text == "3 entrepôts · 250 utilisateurs"
    assert "50 k€" in f["budget"].text
    assert f["language"].value == "French"
    assert r.callback is not None and r.callback.zone == "Europe/Paris"
    local = r.callback.starts.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.weekday(), local.hour, r.callback.ends.astimezone(ZoneInfo("Europe/Paris")).hour) == (1, 9, 12)


def test_spanish_facts():
    r, f = facts_of(C.SPANISH)
    assert r.language == "es"
    assert "Logística Norte" in f["referral"].text
    assert f["timeline"].text == "antes de final de marzo" and f["timeline"].value == "Mar 2027"
    assert "Excel" in f["incumbent"].text
    assert "director general" in f["decides"].text
    assert f["asks"].text == "¿Podrían enviarnos una propuesta económica?"
    assert f["scale"].text == "4 almacenes · 12.000 SKUs"
    assert r.callback is None and "callback" not in f  # no window was asked for: none is made up


def test_a_second_message_per_language():
    _r, de = facts_of(C.SHORT_DE)
    assert de["asks"].text == "Können Sie uns ein Angebot schicken?" and de["timeline"].value == "Jun 2027"
    r, en = facts_of(C.SHORT_EN, at=WEDNESDAY)
    assert en["scale"].text == "25 users" and r.callback is not None and r.callback.zone == "America/Los_Angeles"
    assert r.callback.starts == datetime(2026, 12, 3, 13, 0, tzinfo=ZoneInfo("America/Los_Angeles"))  # tomorrow pm
    _r, fr = facts_of(C.FORWARD_ONLY_FR)
    assert "validé par la direction" in fr["decides"].text and fr["scale"].text == "2 entrepôts"
    r, es = facts_of(C.REPLY_ES)
    assert r.language == "es" and "Sage 200" in es["must_haves"].text and es["scale"].text == "120 usuarios"


def test_header_lines_are_never_facts():
    text = ("Subject: RE: RE: budget for Q1 rollout\nSent: Monday, November 30, 2026 4:12 PM\n"
            "Betreff: AW: Angebot bis Ende März\nObjet : TR: budget\nAsunto: RE: presupuesto 2027")
    r, f = facts_of(text)
    assert f == {}


def test_form_fields_give_facts_when_the_form_has_them():
    props = {"Best time to call": "Thursday 2-4pm ET", "Purchase timeline": "Q2 2027", "Budget": "$50k–$75k",
             "Current solution": "Fishbowl", "utm_source": "linkedin"}
    r, f = facts_of("Interested in a demo.", props, at=WEDNESDAY)
    assert f["timeline"].text == "Q2 2027" and f["budget"].text == "$50k–$75k" and f["incumbent"].text == "Fishbowl"
    assert r.callback is not None and r.callback.zone == "America/New_York"
    assert r.callback.starts == datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo("America/New_York"))
    assert r.callback.ends == datetime(2026, 12, 3, 16, 0, tzinfo=ZoneInfo("America/New_York"))


def test_no_zone_and_an_english_text_gives_no_window():
    facts, window = extract("Please call me Thursday between 2 and 4.", {}, WEDNESDAY, "en")
    assert window is None and any(f.key == "callback" and f.value is None for f in facts)


# --- Language ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,code", [
    (C.SHORT_DE, "de"), (clean(C.FRENCH).text, "fr"), (clean(C.SPANISH).text, "es"), (C.SHORT_EN, "en"),
    ("Call me", None), ("Merci!", None), ("Demo bitte", None), ("", None),
])
def test_language_is_told_from_their_text_and_short_text_is_not_guessed(text, code):
    assert detect(text) == code


@pytest.mark.parametrize("form", ["Contacter le service commercial", "Vertrieb kontaktieren", "Demo anfordern",
                                  "Solicitar una demo", "Contactar con ventas", "Demander une démo",
                                  "Rückruf anfordern", "Solicitar una cotización", "Contact Sales"])
def test_hand_raiser_forms_are_recognised_in_four_languages(form):
    assert is_hand_raiser_form(form, DEFAULT_HAND_RAISER_FORMS)


def test_configured_form_names_match_with_or_without_accents():
    assert is_hand_raiser_form("Demande de démo", ("demande de démo",))
    assert is_hand_raiser_form("Demande de demo", ("demande de démo",))
    assert not is_hand_raiser_form("Newsletter abonnieren", DEFAULT_HAND_RAISER_FORMS)


# --- Stored once, shown in the brief ----------------------------------------------------------------------

def test_a_stored_reading_is_used_as_stored_and_another_version_is_read_again():
    r = reading.read(C.FRENCH, {}, FRIDAY)
    stored = json.loads(json.dumps(reading.as_json(r)))
    assert reading.from_json(stored) == r and reading.from_json(json.dumps(stored)) == r
    assert reading.from_json({**stored, "v": 0}) is None and reading.from_json("not json") is None
    # A stored reading wins: the comment is not read again.
    act = ActivityView("form_submit", FRIDAY, form="Contacter le service commercial", comments="ignored",
                       words={**stored, "text": "Texte stocké à l'ingestion, pas relu."})
    assert own_words(act).message == "Texte stocké à l'ingestion, pas relu."


PIERRE = LeadView(email="pierre@logifrance.example", first_name="Pierre", last_name="Dubois", company="LogiFrance")


def q(reason, detail):
    return QualificationView(reason, detail, FRIDAY, FRIDAY, id=41)


def test_a_form_not_named_as_a_hand_raisers_still_shows_its_comment():
    act = ActivityView("form_submit", FRIDAY - timedelta(hours=2), form="Formulaire partenaires", comments=C.FRENCH)
    brief = build_brief(BriefInput(PIERRE, [act], [], q("lifecycle_change", "became an MQL"), FRIDAY))
    assert brief.own_words is not None and brief.own_words.language == "fr"
    assert brief.own_words.preferred_language == "fr" and brief.own_words.call_language == "fr"
    assert brief.talk_track.track != "hand_raiser"  # the track still follows what they did
    labels = [f.label for f in brief.word_facts]
    assert "Current tool" in labels and "Language" in labels


def test_the_brief_shows_the_clean_quote_facts_and_a_full_message_button():
    jonas = LeadView(email="j.weber@brightforge.example", first_name="Jonas", last_name="Weber", company="Brightforge")
    act = ActivityView("form_submit", FRIDAY - timedelta(minutes=4), form="Request a Demo", comments=C.FORWARDED_EN)
    brief = build_brief(BriefInput(jonas, [act], [], q("hand_raiser", "filled in the Request a Demo form"), FRIDAY))
    payload = to_blocks(brief)
    assert_valid_message(payload)
    section = next(b for b in payload["blocks"] if b.get("block_id") == "brief_words")["text"]["text"]
    assert section.startswith("*In their own words (Request a Demo, from a forwarded email)*")
    assert "&amp;" in section and "&amp;amp;" not in section  # decoded once, escaped once for Slack
    assert "Subject" not in section and "Sent:" not in section and "CONFIDENTIALITY" not in section
    assert "• *Current tool:* contract ends 30 Jun 2027 — “We currently use Manhattan SCALE" in section
    assert "• *Asks for:* “Can you send us a quote for 14 sites" in section
    button = next(b for b in payload["blocks"] if b.get("block_id") == "brief_words_more")["elements"][0]
    assert button["action_id"] == ACTION_FULL_MESSAGE and button["text"]["text"] == "Show full message"
    assert read_full_message_value(button["value"]) == (jonas.email, act.occurred_at)
    text = to_text_brief(brief).replace("\n  > ", " ")
    assert "I am free Monday 9-11 CET for a call." in text  # the terminal shows the whole message


def test_a_short_message_needs_no_button():
    act = ActivityView("form_submit", FRIDAY, form="Contact Sales", comments=C.SHORT_EN)
    brief = build_brief(BriefInput(LeadView(email="al@x.example"), [act], [], q("hand_raiser", "filled in"), FRIDAY))
    assert not any(b.get("block_id") == "brief_words_more" for b in to_blocks(brief)["blocks"])


def test_the_full_message_modal_holds_a_long_message_within_slacks_limits():
    long = "\n\n".join(f"Paragraph {i}: we run {i} sites & need <everything> *now* in one place." * 12
                       for i in range(60))
    view = full_message_view("Jonas Weber", "In their own words (Request a Demo)", long, ("a signature",))
    assert validate_view(view) == []
    assert len(view["blocks"]) <= 100 and all(len(b["text"]["text"]) <= 3000 for b in view["blocks"]
                                              if b["type"] == "section")
    body = "".join(b["text"]["text"] for b in view["blocks"][1:] if b["type"] == "section")
    assert "&lt;everything&gt;" in body and "<everything>" not in body
    assert view["blocks"][-1]["elements"][0]["text"] == "Left out: a signature."


@pytest.mark.parametrize("raw", [
    "We need " + "a very long line of words 12345 Street, " * 1200,
    "\n".join(f"Line {i} Tel: +49 711 {i:06d}" for i in range(3000)),
    "\n".join(f"From: x{i}@y.example\nSent: Monday\nSubject: RE: x" for i in range(2000)),
    "1" * 50000,
    "<p>" * 20000,
    "Hallo, wir brauchen bis Ende Juni eine Lösung für 3 Standorte und 200 Nutzer, Budget 50k €. " * 500,
    " " * 50000 + "x",  # a run of blanks: quadratic for a line pattern that starts with \s* (was 80 s)
    "\t" * 10000 + "Budget 5k",
    "> " * 10000 + "From: x",
])
def test_hostile_comments_are_read_in_bounded_time_and_never_fail(raw):
    import time
    started = time.perf_counter()
    r = reading.read(raw, {"Best time to call": raw[:5000]}, FRIDAY)
    assert time.perf_counter() - started < 5  # bounded input: seconds at worst on a loaded machine, not minutes
    assert len(r.text) <= 20_000 and all(len(f.text) <= 300 for f in r.facts)


def test_lead_text_in_the_quote_never_formats_or_pings():
    raw = "<!channel> *urgent* please call &lt;@U0BOSS&gt; <b>today</b> about 5 sites"
    act = ActivityView("form_submit", FRIDAY, form="Contact Sales", comments=raw)
    brief = build_brief(BriefInput(LeadView(email="x@y.example"), [act], [], q("hand_raiser", "filled in"), FRIDAY))
    payload = to_blocks(brief)
    assert_valid_message(payload)
    words = next(b for b in payload["blocks"] if b.get("block_id") == "brief_words")["text"]["text"]
    assert "<!channel>" not in words and "<@U0BOSS>" not in words and "&lt;!channel&gt;" in words
    assert "*urgent*" not in words and "today" in words and "<b>" not in words


def test_a_language_asked_for_is_the_call_language_even_when_they_wrote_in_another():
    act = ActivityView("form_submit", WEDNESDAY, form="Contact Sales",
                       comments="We are evaluating tools for our Hamburg team. Please call me in German, ideally on Thursday.")
    words = own_words(act)
    assert (words.language, words.preferred_language, words.call_language) == ("en", "de", "de")
    short = own_words(ActivityView("form_submit", WEDNESDAY, form="Kontakt", comments="Demo bitte!"))
    assert (short.language, short.call_language) == (None, None)


@pytest.mark.parametrize("text,language,zone,starts,ends", [
    ("Bitte rufen Sie mich am 15.12. zwischen 10 und 12 Uhr an.", "de", "Europe/Berlin", (12, 15, 10), (12, 15, 12)),
    ("Appelez-moi le 10 décembre le matin.", "fr", "Europe/Paris", (12, 10, 9), (12, 10, 12)),
    ("Llámeme el 9 de diciembre por la tarde.", "es", "Europe/Madrid", (12, 9, 13), (12, 9, 17)),
    ("Please call me on December 8 at 2pm ET.", "en", "America/New_York", (12, 8, 14), (12, 8, 14)),
    ("Bitte am 7. Januar anrufen, vormittags.", "de", "Europe/Berlin", (1, 7, 9), (1, 7, 12)),
])
def test_a_callback_on_a_written_date(text, language, zone, starts, ends):
    _facts, window = extract(text, {}, FRIDAY, language)
    assert window is not None and window.zone == zone
    s, e = window.starts.astimezone(ZoneInfo(zone)), window.ends.astimezone(ZoneInfo(zone))
    assert (s.month, s.day, s.hour) == starts and (e.month, e.day, e.hour) == ends
    assert s > FRIDAY  # never in the past


@pytest.mark.parametrize("text,amount", [
    ("Notre budget est d'environ 50 k€.", "50 k€"),
    ("Budget: ca. 80.000 € pro Jahr.", "80.000 €"),
    ("Budget: $50k-$75k a year.", "$50k-$75k"),
    ("We have 2 million euros budget for the rollout.", "2 million euros"),
    ("Presupuesto de 30.000-40.000 € al año.", "30.000-40.000 €"),
])
def test_budget_amounts_are_read_as_written(text, amount):
    _r, f = facts_of(text)
    assert f["budget"].value == amount


def test_an_old_comment_on_another_form_is_not_dug_up():
    old = ActivityView("form_submit", FRIDAY - timedelta(days=200), form="Formulaire partenaires", comments=C.FRENCH)
    brief = build_brief(BriefInput(PIERRE, [old], [], q("lifecycle_change", "became an MQL"), FRIDAY))
    assert brief.own_words is None and brief.word_facts == []


def test_zone_words_of_other_languages_are_not_time_zones():
    from briefs.facts import zone_of

    # French "et" (and), "c'est" (is) and an English "central" are words, not Eastern or Central Time.
    assert zone_of("merci de me rappeler lundi entre 9h et 11h, c'est urgent", "fr") == ("Europe/Paris", False)
    assert zone_of("our central warehouse, any time after 2pm", "en") == (None, False)
    assert zone_of("ring me 9-11 ET", "en") == ("America/New_York", True)
    assert zone_of("9 am Eastern Time", "en") == ("America/New_York", True)
    assert zone_of("Rückruf ab 10 Uhr MEZ", "de") == ("Europe/Berlin", True)
