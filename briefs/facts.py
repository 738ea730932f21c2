"""Facts a rep opens with, read from a hand-raiser's cleaned message and the form's own fields, each with the
words that support it. English, German, French and Spanish. Pure: text in, facts out.

A fact is shown only when it was found: a clause that reads as a mail header ("Subject: RE: …", "Sent:
Monday …") is never one, and each kind of fact has its own words to be found by.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from briefs.callback import CallbackWindow
from briefs.cleaning import GREETING_LINE, HEADER_NAMES
from briefs.language import NAMES

MAX_WORDS = 300  # the supporting words of one fact, at most
MAX_CLAUSE = 1000  # a clause is read up to here


@dataclass(frozen=True)
class WordFact:
    key: str  # referral, need, timeline, budget, incumbent, decides, must_haves, scale, asks, callback, language
    label: str  # what the brief calls it ("Current tool")
    text: str  # their words (a clause of their message, or the form field's value)
    value: str | None = None  # what was read from them: a date, a window, a language ("by 15 Mar 2027")


LABELS = {
    "referral": "Referral", "need": "Need", "timeline": "Timeline", "budget": "Budget",
    "incumbent": "Current tool", "decides": "Who decides", "must_haves": "Must-haves", "scale": "Scale",
    "asks": "Asks for", "callback": "Call them", "language": "Language",
}
ORDER = tuple(LABELS)


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.I)


MONTHS = (r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|"
          r"jun|jul|aug|sep|sept|oct|nov|dec|januar|jänner|februar|märz|mai|juni|juli|oktober|dezember|janvier|"
          r"février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|enero|"
          r"febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre")

REFERRAL = _rx(
    r"\breferr?(?:ed|al)\b", r"\brecommend(?:ed|ation)\b", r"\bheard (?:about|of) (?:you|your)", r"\bsent me\b",
    r"\bintroduc(?:ed|tion)\b", r"\bpointed me\b", r"\btold (?:me|us) about\b", r"\bsuggested (?:i|we) (?:contact|talk)",
    r"\bempfohlen\b", r"\bempfehlung\b", r"\bverwiesen\b", r"\bhat mir .{0,40}(?:genannt|erzählt)",
    r"\brecommand[ée]", r"\brecommandation\b", r"\bconseill[ée]", r"\bde la part de\b", r"\bm'a parl[ée] de vous",
    r"\brecomend(?:ó|o|ado|ada|aron|ación)\b", r"\bnos refiri[óo]\b", r"\bme habl[óo] de (?:ustedes|vosotros)",
)
NEED = _rx(
    r"\bneed(?:s|ed)?\b", r"\blooking for\b", r"\bwant(?:s)? to\b", r"\brequire\b", r"\bevaluat\w*", r"\breplac\w*",
    r"\bproblems?\b", r"\bstruggl\w*", r"\binterested in\b", r"\bsolution\b", r"\bhelp with\b", r"\bpain\b",
    r"\bchallenges?\b",
    r"\bsuchen\b", r"\bbenötigen\b", r"\bbrauchen\b", r"\bablösen\b", r"\bersetzen\b", r"\bproblem\w*",
    r"\bherausforderung\w*", r"\blösung\w*", r"\binteressier\w*",
    r"\bcherch\w*", r"\bbesoin\b", r"\bsouhait\w*", r"\bremplacer\b", r"\bprobl[èe]me\w*", r"\bsolution\w*",
    r"\bdifficult[ée]s?\b",
    r"\bbusc\w+", r"\bnecesit\w*", r"\bqueremos\b", r"\breemplazar\b", r"\bsustituir\b", r"\bsoluci[óo]n\b",
    r"\binteresad[oa]s?\b",
)
TIMELINE = _rx(
    r"\b(?:this|next|the end of (?:the|this)|end of (?:the|this)?) ?(?:quarter|month|week|year|fiscal year)\b",
    r"\bq[1-4]\b", r"\bh[12]\b", r"\basap\b", r"\burgent(?:ly)?\b", r"\bdeadline\b", r"\bgo[ -]live\b",
    r"\blive by\b", r"\bby (?:the )?(?:end of|mid|early|late|" + MONTHS + r"|monday|tuesday|wednesday|thursday|friday|\d)",
    r"\bwithin (?:\d+|a|two|three|six) (?:days?|weeks?|months?)\b", r"\bin \d+ (?:days|weeks|months)\b",
    r"\bbefore (?:the )?(?:end|" + MONTHS + r"|our|\d)", r"\b20\d\d\b",
    r"\bbis (?:ende|zum|spätestens|mitte|anfang)\b", r"\bende (?:des|dieses|nächsten)? ?(?:jahres|quartals|monats)\b",
    r"\b(?:dieses|nächstes) (?:jahr|quartal)\b", r"\bso schnell wie möglich\b", r"\bdringend\b", r"\bfrist\b",
    r"\bstichtag\b", r"\bbis (?:" + MONTHS + r")\b", r"\bim (?:" + MONTHS + r")\b",
    r"\bd'ici\b", r"\bavant (?:la fin|le|fin|l'été|" + MONTHS + r")", r"\bfin (?:de l'année|du mois|" + MONTHS + r")",
    r"\bce trimestre\b", r"\bau plus tard\b", r"\brapidement\b", r"\bdate limite\b", r"\bmise en production\b",
    r"\bantes del?\b", r"\bpara (?:finales|el|antes)\b", r"\ba finales de\b", r"\beste (?:año|trimestre|mes)\b",
    r"\blo antes posible\b", r"\burgente\b", r"\bfecha l[íi]mite\b", r"\bpuesta en marcha\b",
    r"\bcuanto antes\b",
)
_SCALE_WORD = r"(?:k|m|mn|mio|million(?:s|en)?|millones|tsd|mil)"
_NUMBER = r"\d[\d.,]{0,14}"
_AMOUNT = (r"(?:[$€£]\s?" + _NUMBER + r"\s?" + _SCALE_WORD + r"?(?:\s?[-–]\s?[$€£]?" + _NUMBER + r"\s?" + _SCALE_WORD
           + r"?)?|(?<![\d.,])" + _NUMBER + r"(?:\s?[-–]\s?" + _NUMBER + r")?\s?" + _SCALE_WORD
           + r"?\s?(?:€|k€|eur|euros?|usd|dollars?|gbp|£|\$|chf)(?!\w)|\b(?:eur|usd|gbp|chf)\s?" + _NUMBER + r"\s?"
           + _SCALE_WORD + r"?(?!\w))")
BUDGET = _rx(r"\bbudget\w*", r"\bpresupuesto\b", r"\betat\b", r"\bspend(?:ing)?\b", _AMOUNT)
AMOUNT = re.compile(_AMOUNT, re.I)
INCUMBENT = _rx(
    r"\bcurrently (?:use|using|on|run|running|have|work with)\b", r"\bwe(?:'re| are)? (?:use|using|on|run)\b",
    r"\btoday we use\b", r"\bexisting (?:system|tool|vendor|solution|provider)\b", r"\bour current\b",
    r"\bswitch(?:ing)? (?:away )?from\b", r"\bmigrat\w* (?:away )?from\b", r"\bcontract (?:ends|expires|runs|is up)\b",
    r"\brenewal\b", r"\bwill not renew\b", r"\bincumbent\b",
    r"\b(?:derzeit|aktuell|momentan|bisher) (?:nutzen|setzen|verwenden|arbeiten|haben)\b", r"\bim einsatz\b",
    r"\bvertrag läuft\b", r"\bkündig\w*", r"\bwechseln von\b", r"\bablösen\b",
    r"\bactuellement\b", r"\boutil actuel\b", r"\bsolution actuelle\b", r"\bnous utilisons\b",
    r"\bcontrat (?:se termine|expire|arrive|prend fin)\b", r"\béchéance\b",
    r"\bactualmente (?:usamos|utilizamos|trabajamos|tenemos)\b", r"\busamos\b", r"\bsistema actual\b",
    r"\bcontrato (?:vence|termina|finaliza|acaba)\b",
)
CONTRACT = _rx(r"\bcontract\b", r"\brenew", r"\bvertrag\b", r"\bkündig", r"\bcontrat\b", r"\béchéance\b",
               r"\bcontrato\b", r"\brenovaci[óo]n\b")
DECIDES = _rx(
    r"\bdecision\b", r"\bdecide[sd]?\b", r"\bsigns? off\b", r"\bsign-off\b", r"\bapprov\w*", r"\bfinal say\b",
    r"\bbudget holder\b", r"\bbuying committee\b", r"\bsteering committee\b",
    r"\bentscheid\w*", r"\bfreigabe\b", r"\bgenehmig\w*", r"\bd[ée]cision\w*", r"\bd[ée]cide\w*", r"\bvalid(?:e|er|ation|[ée]e?s?)\b",
    r"\bcomit[ée]\b", r"\bdecisi[óo]n\b", r"\bdecide[n]?\b", r"\baprobaci[óo]n\b", r"\baprueba\b",
)
MUST = _rx(
    r"\bmust[- ]haves?\b", r"\bmust (?:support|integrate|have|be able|work|handle|include|connect|run|offer)\b",
    r"\brequirements?\b", r"\brequired\b", r"\bessential\b", r"\bmandatory\b", r"\bnon-negotiable\b",
    r"\bneeds? to (?:integrate|support|work with|connect|handle)\b", r"\bintegrat\w* with\b", r"\bhas to\b",
    r"\bmuss\b", r"\bmuss-kriteri\w*", r"\bzwingend\b", r"\bunbedingt\b", r"\bvoraussetzung\b", r"\banforderung\w*",
    r"\bintegration (?:mit|in)\b", r"\bschnittstelle\w*",
    r"\bimp[ée]rati\w*", r"\bindispensable\b", r"\bobligatoire\b", r"\bexigence\w*", r"\bint[ée]gration (?:avec|à|au)\b",
    r"\bil (?:nous|me) faut\b",
    r"\bimprescindible\b", r"\bobligatori[oa]\b", r"\brequisitos?\b", r"\bintegraci[óo]n con\b", r"\btiene que\b",
    r"\bes necesario\b",
)
# "Budget is approved" is a budget, not who decides: approval words alone do not make a decider of a budget line.
DECIDES_STRONG = _rx(r"\bdecision\b", r"\bdecide[sd]?\b", r"\bsigns? off\b", r"\bfinal say\b", r"\bcommittee\b",
                     r"\bentscheid\w*", r"\bd[ée]cision\w*", r"\bd[ée]cide\w*", r"\bdecisi[óo]n\b", r"\bdecide[n]?\b",
                     r"\bcomit[ée]\b", r"\bpar (?:la|le|notre)\b", r"\bby (?:our|the)\b", r"\bdurch (?:die|den|unsere)\b",
                     r"\bpor (?:el|la|nuestro)\b")
_UNITS = (r"sites?|users?|seats?|employees|staff|skus?|plants?|warehouses?|locations?|stores?|shops?|dcs?|"
          r"distribution cent(?:er|re)s?|factories|branches|countries|trucks|vehicles|agents|reps|"
          r"werke[n]?|standorte[n]?|lager(?:standorte)?|lagerhäuser[n]?|nutzer[n]?|benutzer[n]?|mitarbeitende[n]?|"
          r"mitarbeiter(?:innen)?|filialen|artikel|länder[n]?|fahrzeuge[n]?|"
          r"entrep[ôo]ts?|utilisateurs?|usines?|magasins?|salari[ée]s|r[ée]f[ée]rences|pays|v[ée]hicules|"
          r"almacenes|usuarios|plantas|tiendas|sedes|empleados|referencias|f[áa]bricas|pa[íi]ses|veh[íi]culos|"
          r"centros(?: de distribuci[óo]n)?")
SCALE = re.compile(r"(?<![\w.,])(?:\d[\d.,\s]{0,9}\d|\d)(?:\s?(?:k|\+))?\s+(?:\w+\s+){0,1}(?:" + _UNITS + r")\b",
                   re.I)
ASKS = _rx(
    r"\bcan you\b", r"\bcould you\b", r"\bplease (?:send|share|provide|quote|schedule|set up|arrange|prepare)\b",
    r"\bi(?:'d| would) like (?:a|to|an)\b", r"\bwe(?:'d| would) like (?:a|to|an)\b", r"\bsend (?:us|me)\b",
    r"\brequest(?:ing)? an?\b",
    r"\bkönnten sie\b", r"\bkönnen sie\b", r"\bbitte (?:senden|schicken|erstellen|zusenden)\b", r"\bhätten gerne?\b",
    r"\bwünschen uns\b", r"\bbitten um\b",
    r"\bpourriez-vous\b", r"\bpouvez-vous\b", r"\bmerci de (?:m'|nous )envoyer\b", r"\bje souhaiterais\b",
    r"\bnous souhaiterions\b", r"\benvoyez\b",
    r"\bpodr[íi]an\b", r"\bpodr[íi]as\b", r"\bpueden\b", r"\bnos gustar[íi]a\b", r"\bme gustar[íi]a\b",
    r"\benv[íi]en(?:nos)?\b", r"\bsolicit(?:o|amos)\b",
)
CONCRETE = _rx(
    r"\bquote\b", r"\bproposal\b", r"\bdemo\b", r"\bpricing\b", r"\bprice list\b", r"\btrial\b", r"\bpilot\b",
    r"\breferences?\b", r"\bcase stud", r"\bsecurity\b", r"\bcontract\b",
    r"\bangebot\b", r"\bpreis\w*", r"\btestzugang\b", r"\bvorführung\b",
    r"\bdevis\b", r"\bproposition\b", r"\btarifs?\b", r"\bd[ée]mo\w*", r"\bessai\b",
    r"\bpropuesta\b", r"\bcotizaci[óo]n\b", r"\bpresupuesto\b", r"\bprecios?\b", r"\bprueba\b",
)
CALLBACK = _rx(
    r"\bcall (?:me|us|back)\b", r"\breach me\b", r"\bring me\b", r"\bphone me\b", r"\bbest time\b",
    r"\b(?:i am|i'm|we are|we're) (?:free|available)\b", r"\bavailable (?:on|between|from|after|before|mon|tue|wed|thu|fri)",
    r"\brufen sie (?:mich|uns)\b", r"\banrufen\b", r"\berreichbar\b", r"\brückruf\b", r"\bzurückrufen\b",
    r"\brappel(?:er|ez)?\b", r"\bappelez\b", r"\bjoignable\b", r"\bdisponible\b",
    r"\bll[áa]m\w+", r"\bcontactarme\b", r"\bdisponibles?\b",
)
LANGUAGE_WORDS = {
    "en": _rx(r"\bin english\b", r"\bauf englisch\b", r"\ben anglais\b", r"\ben ingl[ée]s\b"),
    "de": _rx(r"\bin german\b", r"\bauf deutsch\b", r"\ben allemand\b", r"\ben alem[áa]n\b"),
    "fr": _rx(r"\bin french\b", r"\bauf französisch\b", r"\ben fran[çc]ais\b", r"\ben franc[ée]s\b"),
    "es": _rx(r"\bin spanish\b", r"\bauf spanisch\b", r"\ben espagnol\b", r"\ben espa[ñn]ol\b", r"\ben castellano\b"),
    "it": _rx(r"\bin italian\b", r"\bauf italienisch\b", r"\ben italien\b", r"\ben italiano\b", r"\bin italiano\b"),
}
# A clause that reads as a mail header (or a form's own label line) is never a fact.
_HEADER = re.compile(r"^\s*[>*\s]*(?:" + "|".join(re.escape(h) for h in HEADER_NAMES) + r"|re|aw|wg|fw|fwd|tr|rv)\s?:",
                     re.I)
# "Hallo, wir möchten …": the greeting in front of a sentence is not part of any fact.
_GREETING_PREFIX = re.compile(
    r"^\s*(?:hi|hello|hey|hallo|guten tag|bonjour|hola|buen(?:os|as) (?:d[íi]as|tardes))(?: there)?\s*[,!]\s+", re.I)
_SPLIT = re.compile(
    r"(?<=[.!?;])\s+(?=\S)|\n+|,\s+(?=(?:and|but|so|aber|mais|pero)\b)|"
    r"\s+(?:and|but|und|aber|et|mais|y|pero)\s+(?=(?:we|i|must|need|have|are|it|wir|ich|müssen|nous|je|il faut|"
    r"necesitamos|queremos|tenemos)\b)", re.I)
# A period that ends an abbreviation does not end the sentence ("ca. 80.000 €", "z. B.", "approx. 40").
_ABBREVIATION = re.compile(r"(?:^|\s)(?:ca|approx|env|aprox|appr|zb|z\.\s?b|e\.g|i\.e|bzw|inkl|incl|etc|nr|no|inc|ltd|"
                           r"co|st|mr|mrs|ms|dr|prof|vs|sr|sra|m|mme|cf|s\.a|s\.l|gmbh|\d{1,2}\.\d{1,2}|\d{1,2})\.$", re.I)


def clauses(text: str) -> list[str]:
    """Their message as sentences (and lines), without greetings, headers or empty bits."""
    parts: list[str] = []
    for line in text.split("\n"):
        for part in _SPLIT.split(line):
            if parts and parts[-1] and _ABBREVIATION.search(parts[-1]) and not parts[-1].endswith("\n"):
                parts[-1] += " " + part
            else:
                parts.append(part)
        parts.append("\n")
    out = []
    for part in parts:
        # A "sentence" of thousands of characters is not one a rep reads: its first MAX_CLAUSE are looked at.
        part = _GREETING_PREFIX.sub("", part.strip().strip(",;").strip()[:MAX_CLAUSE])
        if len(part) < 3 or _HEADER.match(part) or GREETING_LINE.match(part):
            continue
        out.append(part)
    return out


def _clip(text: str, limit: int = MAX_WORDS) -> str:
    text = " ".join(text.split()).rstrip(".!;,")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def fold_key(key: str) -> str:
    key = unicodedata.normalize("NFKD", key)
    key = "".join(c for c in key if not unicodedata.combining(c)).lower()
    return "_".join(re.findall(r"[a-z0-9]+", key))


# Form fields, as forms name them (folded: lowercase, accents gone, words joined by "_").
FIELDS: Mapping[str, tuple[str, ...]] = {
    "referral": ("referral", "referred_by", "referrer", "how_did_you_hear_about_us", "how_did_you_hear",
                 "wie_haben_sie_von_uns_erfahren", "comment_nous_avez_vous_connus", "como_nos_conocio"),
    "need": ("need", "use_case", "challenge", "project", "pain_point", "anliegen", "besoin", "necesidad"),
    "timeline": ("timeline", "timeframe", "time_frame", "purchase_timeline", "buying_timeline", "zeitrahmen",
                 "zeitplan", "delai", "calendrier", "plazo"),
    "budget": ("budget", "annual_budget", "budget_range", "presupuesto"),
    "incumbent": ("current_solution", "current_tool", "current_vendor", "current_system", "incumbent",
                  "aktuelle_losung", "solution_actuelle", "solucion_actual"),
    "contract_end": ("contract_end", "contract_end_date", "renewal_date", "contract_renewal", "vertragsende",
                     "fin_de_contrat", "fin_del_contrato"),
    "decides": ("decision_maker", "decision_makers", "authority", "who_decides", "entscheider",
                "decideur", "decisor"),
    "must_haves": ("must_haves", "requirements", "must_have", "anforderungen", "exigences", "requisitos"),
    "scale": ("number_of_users", "users", "seats", "sites", "locations", "warehouses", "number_of_sites",
              "number_of_warehouses", "employees", "company_size", "anzahl_nutzer", "anzahl_standorte",
              "nombre_d_utilisateurs", "numero_de_usuarios"),
    "callback": ("best_time_to_call", "best_time", "callback_time", "call_time", "preferred_time",
                 "erreichbarkeit", "ruckrufzeit", "disponibilite", "horario", "horario_de_contacto"),
    "language": ("language", "preferred_language", "sprache", "langue", "idioma"),
}


def field_values(props: Mapping[str, Any]) -> dict[str, str]:
    """The form's own fields that carry a fact, by fact key (the first field of each, as written)."""
    folded = {fold_key(k): v for k, v in props.items() if isinstance(k, str)}
    out: dict[str, str] = {}
    for key, names in FIELDS.items():
        for name in names:
            value = folded.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
                text = str(value).strip()
                if key == "scale" and not SCALE.search(text):  # "201-500" says nothing without its field's name
                    text = f"{name.replace('_', ' ')}: {text}"
                out[key] = _clip(text)
                break
    return out


# --- Dates and callback windows ----------------------------------------------------------------------------

def _search_dates(text: str, language: str | None, base: datetime) -> list[tuple[str, datetime]]:
    from dateparser.search import search_dates  # its language data loads on first use

    settings = {"RELATIVE_BASE": base.replace(tzinfo=None), "PREFER_DATES_FROM": "future",
                "PREFER_DAY_OF_MONTH": "last", "REQUIRE_PARTS": []}
    languages = [language] if language in ("en", "de", "fr", "es", "it", "nl", "pt") else ["en", "de", "fr", "es"]
    try:
        found = search_dates(text, languages=languages, settings=settings) or []
    except Exception:  # a third-party parser on lead text: it must not fail the brief
        return []
    return [(said, when) for said, when in found if isinstance(when, datetime)]


_MONTH_WORD = re.compile(r"\b(?:" + MONTHS + r")\b", re.I)


def _precision(said: str) -> tuple[bool, bool, bool]:
    """Whether a date as written names its day, its month, its year."""
    has_month = _MONTH_WORD.search(said) is not None or re.search(r"\d{1,2}[./]\d{1,2}", said) is not None
    has_day = bool(re.search(r"\b\d{1,2}(?:st|nd|rd|th|\.|er)?\b(?!\s?(?:k|%|uhr|h\b|am|pm))", said, re.I)) and has_month
    return has_day, has_month, re.search(r"\b20\d\d\b", said) is not None


# A written date in a callback request: "am 15.12.", "on 3 March", "le 10 décembre", "el 9 de marzo".
DATE_HINT = re.compile(r"\b\d{1,2}[./]\d{1,2}\b|\b\d{1,2}(?:st|nd|rd|th|\.|er)?\s+(?:de\s+)?(?:" + MONTHS + r")\b|"
                       r"\b(?:" + MONTHS + r")\s+\d{1,2}\b", re.I)


def named_day(text: str, language: str | None, base: datetime) -> date | None:
    """A day they wrote out (day and month), on or after `base`'s day."""
    if not DATE_HINT.search(text):
        return None
    numeric = _NUMERIC_DATE.search(text)
    if numeric and language not in (None, "en"):  # 15.12. is the 15th of December outside English
        day_n, month_n = int(numeric.group(1)), int(numeric.group(2))
        year_n = int(numeric.group(3)) if numeric.group(3) else base.year
        year_n += 2000 if year_n < 100 else 0
        try:
            found = date(year_n, month_n, day_n)
        except ValueError:
            return None
        if found < base.date() and not numeric.group(3):
            found = found.replace(year=found.year + 1)
        return found if found >= base.date() else None
    for said, when in _search_dates(text[:MAX_WORDS], language, base):
        if _precision(said)[0] and when.date() >= base.date():
            return when.date()
    return None


_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})\.?(?:[./](\d{2}|\d{4}))?\b")


def date_value(text: str, language: str | None, base: datetime) -> str | None:
    """The first real date in their words, written at the precision they gave: "15 Mar 2027", "Sep 2027",
    "2027". A bare weekday, a time or a number is not a deadline."""
    for said, when in _search_dates(text[:MAX_WORDS], language, base):
        has_day, has_month, has_year = _precision(said)
        if has_day:
            return when.strftime("%-d %b %Y")
        if has_month:
            return when.strftime("%b %Y")
        if has_year:
            return when.strftime("%Y")
    return None


ZONES = {
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "mez": "Europe/Berlin", "mesz": "Europe/Berlin",
    "gmt": "Europe/London", "bst": "Europe/London", "uk time": "Europe/London", "utc": "UTC", "wet": "Europe/Lisbon",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York", "eastern": "America/New_York",
    "cst": "America/Chicago", "cdt": "America/Chicago", "ct": "America/Chicago", "central": "America/Chicago",
    "mst": "America/Denver", "mdt": "America/Denver", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
    "paris": "Europe/Paris", "berlin": "Europe/Berlin", "madrid": "Europe/Madrid", "london": "Europe/London",
    "new york": "America/New_York", "vienna": "Europe/Vienna", "wien": "Europe/Vienna", "zurich": "Europe/Zurich",
    "zürich": "Europe/Zurich", "peninsular": "Europe/Madrid", "heure française": "Europe/Paris",
    "heure de paris": "Europe/Paris", "hora de madrid": "Europe/Madrid", "hora peninsular": "Europe/Madrid",
    "deutscher zeit": "Europe/Berlin",
}
# The central European abbreviation read as the lead's own country when their language says which.
_CET_BY_LANGUAGE = {"fr": "Europe/Paris", "es": "Europe/Madrid", "it": "Europe/Rome", "nl": "Europe/Amsterdam"}
# No zone written: the zone their language is most spoken in, in Europe; English says nothing.
_ZONE_BY_LANGUAGE = {"de": "Europe/Berlin", "fr": "Europe/Paris", "es": "Europe/Madrid", "it": "Europe/Rome",
                     "nl": "Europe/Amsterdam", "pt": "Europe/Lisbon"}
# Abbreviations count only as written in capitals: "et", "est" and "pt" are words in French, Spanish and English
# ("entre 9h et 11h", "c'est"); "eastern", "central" and "pacific" only followed by "time".
_ABBREVIATIONS = frozenset(z for z in ZONES if z.isalpha() and len(z) <= 4 and z not in ("mez", "mesz", "wien"))
_PLAIN_WORDS = frozenset({"eastern", "central", "pacific"})
_ZONE = re.compile(
    r"\b(?:" + "|".join(sorted((re.escape(z.upper()) for z in _ABBREVIATIONS), key=len, reverse=True)) + r")\b"
    r"(?:\s+[Tt]ime)?"
    r"|\b(?i:" + "|".join(sorted((re.escape(z) for z in ZONES if z not in _ABBREVIATIONS | _PLAIN_WORDS),
                                  key=len, reverse=True)) + r")\b(?i:\s+time)?"
    r"|\b(?i:eastern|central|pacific)\s+(?i:time)\b")
_DAYS = {
    0: ("monday", "mon", "montag", "lundi", "lunes"), 1: ("tuesday", "tue", "tues", "dienstag", "mardi", "martes"),
    2: ("wednesday", "wed", "mittwoch", "mercredi", "miércoles", "miercoles"),
    3: ("thursday", "thu", "thurs", "donnerstag", "jeudi", "jueves"), 4: ("friday", "fri", "freitag", "vendredi", "viernes"),
}
_DAY = re.compile(r"\b(" + "|".join(n for names in _DAYS.values() for n in names) + r")s?\b", re.I)
_TOMORROW = re.compile(r"\b(?:tomorrow|demain)\b|\bmorgen\b(?!s)|(?<!la )(?<!por la )\bmañana\b(?! por)", re.I)
_TODAY = re.compile(r"\b(?:today|heute|aujourd'hui|hoy|this (?:morning|afternoon))\b", re.I)
_PARTS = (
    (re.compile(r"\b(?:mornings?|vormittags?|morgens|le matin|matin[ée]e|dans la matin[ée]e|por la mañana|"
                r"por las mañanas|de mañana)\b", re.I), (9, 0), (12, 0)),
    (re.compile(r"\b(?:afternoons?|nachmittags?|l'apr[èe]s-midi|apr[èe]s-midi|por la tarde|por las tardes)\b", re.I),
     (13, 0), (17, 0)),
    (re.compile(r"\b(?:lunch(?:time)?|mittags?|midi|mediod[íi]a)\b", re.I), (12, 0), (14, 0)),
    (re.compile(r"\b(?:evenings?|abends|le soir|en soir[ée]e)\b", re.I), (17, 0), (19, 0)),
)
_CLOCK = r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|uhr|h|horas|hrs)?"
_RANGE = re.compile(r"(?:between|from|zwischen|von|entre|de|desde)?\s*" + _CLOCK +
                    r"\s*(?:-|–|—|to|and|until|till|bis|und|et|à|a|y|hasta)\s*" + _CLOCK, re.I)
_AFTER = re.compile(r"\b(?:after|from|ab|nach|à partir de|apr[èe]s|a partir de las?|despu[ée]s de las?)\s+" + _CLOCK, re.I)
_BEFORE = re.compile(r"\b(?:before|until|vor|avant|antes de las?)\s+" + _CLOCK, re.I)
_AT = re.compile(r"\b(?:at|um|à|a las?)\s+" + _CLOCK, re.I)


def _hour(h: str, m: str | None, suffix: str | None, other_suffix: str | None = None) -> time | None:
    hour, minute = int(h), int(m) if m else 0
    mark = (suffix or other_suffix or "").lower().replace(".", "")
    if mark == "pm" and hour < 12:
        hour += 12
    elif mark == "am" and hour == 12:
        hour = 0
    elif not mark and 1 <= hour <= 6:  # "call me 2-4": the afternoon, not the night
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _hours(text: str) -> tuple[time, time] | None:
    m = _RANGE.search(text)
    if m:
        start = _hour(m.group(1), m.group(2), m.group(3), m.group(6))
        end = _hour(m.group(4), m.group(5), m.group(6), m.group(3))
        if start and end and start < end:
            return start, end
    m = _AFTER.search(text)
    if m and (start := _hour(m.group(1), m.group(2), m.group(3))):
        return start, max(start, time(18, 0)) if start < time(18, 0) else time(min(23, start.hour + 2), start.minute)
    m = _BEFORE.search(text)
    if m and (end := _hour(m.group(1), m.group(2), m.group(3))) and end > time(9, 0):
        return time(9, 0), end
    m = _AT.search(text)
    if m and (m.group(2) or m.group(3)) and (start := _hour(m.group(1), m.group(2), m.group(3))):
        end_at = datetime.combine(date(2000, 1, 1), start) + timedelta(minutes=30)
        return start, end_at.time() if end_at.date() == date(2000, 1, 1) else time(23, 59)
    for pattern, begins, ends in _PARTS:
        if pattern.search(text):
            return time(*begins), time(*ends)
    return None


def zone_of(text: str, language: str | None) -> tuple[str | None, bool]:
    """The IANA zone they named, or (when they named none) the one their language implies; and whether it was
    written."""
    m = _ZONE.search(text)
    if m:
        key = " ".join(m.group(0).lower().split()).removesuffix(" time").strip()
        zone = ZONES.get(key)
        if zone == "Europe/Berlin" and key in ("cet", "cest") and language in _CET_BY_LANGUAGE:
            zone = _CET_BY_LANGUAGE[language]
        return zone, True
    return _ZONE_BY_LANGUAGE.get(language or ""), False


def callback_window(text: str, language: str | None, at: datetime) -> CallbackWindow | None:
    """When they asked to be called, as instants in their zone: a weekday, tomorrow or today, and hours or a
    part of the day. None unless both a time and a zone can be read (no window is made up)."""
    hours = _hours(text)
    day_m = _DAY.search(text)
    weekday = next((d for d, names in _DAYS.items() if day_m and day_m.group(1).lower() in names), None)
    tomorrow, today = _TOMORROW.search(text), _TODAY.search(text)
    dated = DATE_HINT.search(text) is not None
    if hours is None and weekday is None and not tomorrow and not dated:
        return None
    zone_name, _written = zone_of(text, language)
    if zone_name is None:
        return None
    zone = ZoneInfo(zone_name)
    local = at.astimezone(zone)
    start_t, end_t = hours or (time(9, 0), time(17, 0))
    written = named_day(text, language, local) if dated else None
    if written is not None:
        day = written
    elif dated and hours is None and weekday is None and not tomorrow:
        return None
    elif weekday is not None:
        day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
        if day == local.date() and local.time() >= end_t:
            day += timedelta(days=7)
    elif tomorrow:
        day = local.date() + timedelta(days=1)
    else:
        day = local.date()
        if not today and (day.weekday() >= 5 or local.time() >= end_t):
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
    starts = datetime.combine(day, start_t, zone)
    ends = datetime.combine(day, end_t, zone)
    return CallbackWindow(starts=starts, ends=ends, zone=zone_name, said=_clip(text, 160))


def window_words(window: CallbackWindow) -> str:
    """"Mon 7 Dec, 09:00–11:00 CET" in the lead's zone."""
    s = window.starts.astimezone(ZoneInfo(window.zone))
    e = window.ends.astimezone(ZoneInfo(window.zone))
    return f"{s:%a} {s.day} {s:%b}, {s:%H:%M}–{e:%H:%M} {s.tzname()}"


# --- The reading ------------------------------------------------------------------------------------------

def _first(cls: list[str], pattern: re.Pattern[str], used: set[str], *,
           also: Callable[[str], bool] | None = None, reuse: bool = False) -> str | None:
    for c in cls:
        if pattern.search(c) and (reuse or c not in used) and (also is None or also(c)):
            return c
    return None


def _span(clause: str, pattern: re.Pattern[str], before: int = 0) -> str:
    """The part of a clause another fact already shows that carries this one: from the match (and `before`
    words ahead of it) to the next comma or the clause's end."""
    m = pattern.search(clause)
    if not m:
        return clause
    head = clause[: m.start()].split()
    start = clause.rfind(" ".join(head[-before:]), 0, m.start()) if before and head else m.start()
    rest = clause[m.end():]
    stop = re.search(r"[,;:(]", rest)
    return clause[start: m.end() + (stop.start() if stop else len(rest))].strip().rstrip("?!.")


def extract(text: str, props: Mapping[str, Any], at: datetime, language: str | None
            ) -> tuple[tuple[WordFact, ...], CallbackWindow | None]:
    """The facts in their message and the form's fields (a field wins over a sentence), and the callback window."""
    cls = clauses(text)
    fields = field_values(props)
    used: set[str] = set()
    found: dict[str, WordFact] = {}

    def put(key: str, words: str | None, value: str | None = None) -> None:
        if words and key not in found:
            found[key] = WordFact(key, LABELS[key], _clip(words), value)
            used.add(words)

    # The callback first: "free Monday 9–11 CET" is neither a timeline nor an ask.
    call_clause = fields.get("callback") or _first(cls, CALLBACK, used, also=lambda c: _hours(c) is not None
                                                   or _DAY.search(c) is not None or _TOMORROW.search(c) is not None
                                                   or DATE_HINT.search(c) is not None)
    window = callback_window(call_clause, language, at) if call_clause else None
    if call_clause and window is None and "callback" in fields:
        put("callback", call_clause)
    elif call_clause and window is not None:
        _zone, written = zone_of(call_clause, language)
        put("callback", call_clause, window_words(window) + ("" if written else " (their zone, from their language)"))
    if "callback" not in found:
        call_any = _first(cls, CALLBACK, used, also=lambda c: _hours(c) is not None or any(
            p.search(c) for p, _s, _e in _PARTS))
        if call_any:
            window = callback_window(call_any, language, at)
            put("callback", call_any, window_words(window) if window else None)
    # "How did you hear about us: Referral" names a channel; their sentence names the person, and wins.
    said_referral = _first(cls, REFERRAL, used)
    field_referral = fields.get("referral")
    if field_referral and said_referral and len(field_referral.split()) <= 2:
        field_referral = None
    put("referral", field_referral or said_referral)
    incumbent = fields.get("incumbent") or _first(cls, INCUMBENT, used)
    if incumbent:
        end_words = fields.get("contract_end") or (incumbent if CONTRACT.search(incumbent) else
                                                   _first(cls, CONTRACT, used | {incumbent}))
        end = date_value(end_words, language, at) if end_words else None
        if end_words and end_words != incumbent:
            incumbent = f"{incumbent}; {end_words}"
        put("incumbent", incumbent, f"contract ends {end}" if end else None)
        used.update(p for p in (end_words, fields.get("incumbent")) if p)
        used.update(c for c in cls if c in incumbent)
    ask = _first(cls, ASKS, used, also=lambda c: CONCRETE.search(c) is not None) or _first(
        cls, ASKS, used, also=lambda c: c.rstrip().endswith("?")) or _first(
        cls, re.compile(r"\?\s*$"), used, also=lambda c: CONCRETE.search(c) is not None)
    put("asks", ask)
    put("need", fields.get("need") or _first(cls, NEED, used))
    put("decides", fields.get("decides") or _first(cls, DECIDES, used, also=lambda c: DECIDES_STRONG.search(c) is not None
                                                   or not BUDGET.search(c)))
    musts = [fields["must_haves"]] if "must_haves" in fields else [
        c for c in cls if MUST.search(c) and c not in used and not TIMELINE.search(c.split(" must ")[-1][:20])][:2]
    if musts:
        put("must_haves", " · ".join(musts))
    budget = fields.get("budget") or _first(cls, BUDGET, used, also=lambda c: not ASKS.search(c)) or _first(
        cls, BUDGET, used, reuse=True, also=lambda c: AMOUNT.search(c) is not None and not ASKS.search(c))
    if budget:
        amount = AMOUNT.search(budget)
        put("budget", budget, amount.group(0).strip() if amount and amount.group(0).strip() != budget else None)
    timeline = fields.get("timeline") or _first(cls, TIMELINE, used, also=lambda c: not CALLBACK.search(c))
    if not timeline:
        shared = _first(cls, TIMELINE, used, reuse=True, also=lambda c: not CALLBACK.search(c) and not CONTRACT.search(c))
        timeline = _span(shared, TIMELINE) if shared else None
    if timeline:
        when = date_value(timeline, language, at)
        put("timeline", timeline, when)
    scale = fields.get("scale") or " · ".join(dict.fromkeys(m.group(0).strip() for m in SCALE.finditer(text)))
    put("scale", scale or None)
    said_language = fields.get("language")
    code = None
    for lang, pattern in LANGUAGE_WORDS.items():
        hit = next((c for c in cls if pattern.search(c)), None)
        if hit in used:
            hit = _span(hit, pattern, before=3)
        if hit:
            said_language, code = said_language or hit, lang
            break
    if said_language:
        code = code or _language_code(said_language)
        put("language", said_language, NAMES.get(code or ""))
    return tuple(found[k] for k in ORDER if k in found), window


_LANGUAGE_VALUES = {"en": ("en", "english", "englisch", "anglais", "inglés", "ingles"),
                    "de": ("de", "german", "deutsch", "allemand", "alemán", "aleman"),
                    "fr": ("fr", "french", "französisch", "francais", "français", "francés", "frances"),
                    "es": ("es", "spanish", "spanisch", "espagnol", "español", "espanol", "castellano"),
                    "it": ("it", "italian", "italienisch", "italien", "italiano")}


def _language_code(value: str) -> str | None:
    v = value.strip().lower()
    return next((code for code, names in _LANGUAGE_VALUES.items() if v in names or any(
        re.search(rf"\b{re.escape(n)}\b", v) for n in names if len(n) > 2)), None)
