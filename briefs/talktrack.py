"""Talk-track selection and rendering from Jinja2 templates, in a sandbox.

A template writes plain lines: `OPENER:` (one), `ASK:` (discovery questions, up to three) and `NEXT:`
(the next step). Lines without a prefix continue the previous one. Templates are looked up as
`{track}.{persona}.j2`, then `{track}.j2`, first in the admin's folder, then in ours. For a lead who wrote in
German, French or Spanish (OwnWords.language), `{locale}/{track}.{persona}.j2` and `{locale}/{track}.j2` come
first (de/, fr/, es/), so an admin overrides a locale as they override a persona; English stays at the top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PackageLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from briefs.markup import em, plain

MAX_QUESTIONS = 3
# The locales with their own templates; English is the top folder. Anything else is written in English.
LOCALES = ("de", "fr", "es")
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
                  "pt": "Portuguese", "pl": "Polish"}
FLAGS = {"de": "🇩🇪", "fr": "🇫🇷", "es": "🇪🇸", "en": "🇬🇧", "it": "🇮🇹", "nl": "🇳🇱", "pt": "🇵🇹", "pl": "🇵🇱"}
_LINE = re.compile(r"^\s*(OPENER|ASK|NEXT)\s*:\s*(.*)$", re.I)


@dataclass(frozen=True)
class TalkTrack:
    track: str
    opener: str
    questions: list[str] = field(default_factory=list)
    next_step: str = ""
    template: str = ""
    # Set when an admin template failed and ours was used instead.
    problem: str | None = None


def select_track(*, unhappy: bool, hand_raiser: bool, reengaged: bool, customer: bool, downloads: int) -> str:
    """Never pitch an unhappy customer; a hand-raiser's own words beat everything else."""
    if customer and unhappy:
        return "detractor"
    if hand_raiser:
        return "hand_raiser"
    if customer and reengaged:
        return "reengaged_customer"
    if customer:
        return "customer"
    if downloads:
        return "researcher"
    return "default"


def _slug(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (value or "").lower()).strip("_")


@lru_cache(maxsize=8)
def environment(templates_dir: str | None) -> ImmutableSandboxedEnvironment:
    loaders: list[BaseLoader] = [PackageLoader("briefs", "templates")]
    if templates_dir:
        loaders.insert(0, FileSystemLoader(str(Path(templates_dir).expanduser())))
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=False,  # output is plain text; it is escaped for mrkdwn when rendered to Slack
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["em"] = em
    env.filters["topic"] = topic_words
    return env


_FALLBACK = {
    "en": "thanks for your interest. What prompted you to look at us now?",
    "de": "vielen Dank für Ihr Interesse. Was hat Sie dazu bewogen, sich gerade jetzt bei uns zu melden?",
    "fr": "merci de l'intérêt que vous nous portez. Qu'est-ce qui vous a amené à nous contacter maintenant ?",
    "es": "gracias por su interés. ¿Qué le ha llevado a contactarnos ahora?",
}


def _builtin() -> ImmutableSandboxedEnvironment:
    return environment(None)


def _clean(value: Any) -> Any:
    """Strip our emphasis marks from every string that goes into a template."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def parse(output: str) -> tuple[str, list[str], str]:
    opener, next_step = "", ""
    questions: list[str] = []
    current: str | None = None
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _LINE.match(line)
        if m:
            current, text = m.group(1).upper(), m.group(2).strip()
            if current == "OPENER":
                opener = text
            elif current == "ASK":
                questions.append(text)
            else:
                next_step = text
        elif current == "OPENER":
            opener = f"{opener} {line}".strip()
        elif current == "ASK" and questions:
            questions[-1] = f"{questions[-1]} {line}"
        elif current == "NEXT":
            next_step = f"{next_step} {line}".strip()
    return tidy(opener), [tidy(q) for q in questions if q][:MAX_QUESTIONS], tidy(next_step)


_DOUBLE_STOP = re.compile(r"(?<![.…])\.\.(?!\.)|(?<=[?!])\.(?!\.)")


def tidy(text: str) -> str:
    """One full stop where a sentence ends on one already: "Acme Inc.." -> "Acme Inc.", "now?." -> "now?"."""
    return _DOUBLE_STOP.sub(lambda m: "." if m.group(0) == ".." else "", text)


def locale_of(language: str | None) -> str | None:
    """The template folder for a language code ("de", "de-AT", "DE"), or None for English and the rest."""
    code = (language or "").strip().lower()[:2]
    return code if code in LOCALES else None


def template_names(track: str, persona: str | None, locale: str | None) -> list[str]:
    """Most specific first: the locale's persona, the locale's track, then the English persona and track."""
    names = [f"{track}.{_slug(persona)}.j2"] if _slug(persona) else []
    names.append(f"{track}.j2")
    return [f"{locale}/{n}" for n in names] + names if locale else names


# Salutations as forms and CRMs send them, read as one of two titles; anything else ("divers", "Mx", "Dr."):
# no title, and the greeting uses the full name (never a wrong one).
_MALE = frozenset({"herr", "mr", "mister", "monsieur", "m", "senor", "señor", "sr", "don", "male", "man", "masculin"})
_FEMALE = frozenset({"frau", "mrs", "ms", "miss", "madame", "mme", "mlle", "senora", "señora", "sra", "srta", "dona",
                     "doña", "female", "woman", "f", "feminin", "féminin"})
_TITLES = {"de": ("Herr", "Frau"), "fr": ("Monsieur", "Madame"), "es": ("señor", "señora"), "en": ("Mr", "Ms")}


def title_of(salutation: str | None) -> int | None:
    """0: a man's title, 1: a woman's, None: unknown or neither."""
    key = (salutation or "").strip().lower().rstrip(".")
    return 0 if key in _MALE else 1 if key in _FEMALE else None


def hello(locale: str | None, first: str | None, last: str | None, salutation: str | None) -> str:
    """The customary greeting: "Guten Tag Herr Müller" (formal is the norm; no title known: the full name),
    "Bonjour Madame Dupont" or "Bonjour Pierre", "Buenos días, señora García" or "Buenos días, Pierre",
    "Hi Mike"."""
    title = title_of(salutation)
    first, last = (first or "").strip() or None, (last or "").strip() or None
    if locale == "de":
        if title is not None and last:
            return f"Guten Tag {_TITLES['de'][title]} {last}"
        name = " ".join(p for p in (first, last) if p)
        return f"Guten Tag {name}" if name else "Guten Tag"
    if locale == "fr":
        if title is not None and last:
            return f"Bonjour {_TITLES['fr'][title]} {last}"
        return f"Bonjour {first}" if first else "Bonjour"
    if locale == "es":
        if title is not None and last:
            return f"Buenos días, {_TITLES['es'][title]} {last}"
        return f"Buenos días, {first}" if first else "Buenos días"
    return f"Hi {first or 'there'}"


_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9&./+-]*$")


def topic_words(value: str | None) -> str:
    """A topic as it reads inside a sentence: "Data Governance" -> "data governance", "widget_lifecycle" ->
    "widget lifecycle"; acronyms and brand spellings stay ("SAP", "SOC 2", "HubSpot", "eCommerce")."""
    words = re.sub(r"[_\s]+", " ", value or "").strip().split(" ")
    out = []
    for w in words:
        if _ACRONYM.match(w) or any(c.isupper() for c in w[1:]):
            out.append(w)
        else:
            out.append(w.lower())
    return " ".join(w for w in out if w)


def render(track: str, persona: str | None, context: dict[str, Any], templates_dir: str | None = None,
           locale: str | None = None) -> TalkTrack:
    """Never raises: a brief must not fail because of its talk track. Problems are reported on the result."""
    ctx = _clean(context)
    locale = locale_of(locale)
    ctx.setdefault("locale", locale or "en")
    names = template_names(track, persona, locale)
    problem, name, output = None, names[-1], ""
    try:
        template = environment(templates_dir).select_template(names)
        name, output = template.name or name, template.render(**ctx)
    except Exception as exc:  # noqa: BLE001 - an admin's template may fail in any way at run time (1 // 0...)
        problem = f"talk-track template {name} failed ({type(exc).__name__}: {exc})"
        if templates_dir:
            problem = f"custom {problem}; the built-in one was used"
            try:
                template = _builtin().select_template(names)
                name, output = template.name or name, template.render(**ctx)
            except Exception:  # noqa: BLE001 - ours must not fail the brief either
                output = ""
    opener, questions, next_step = parse(output)
    if not opener:
        if problem is None:
            problem = f"template {name} wrote no OPENER: line"
        opener = f"{ctx.get('hello') or 'Hi ' + (ctx.get('greeting') or 'there')}, " + _FALLBACK.get(
            locale or "en", _FALLBACK["en"])
        next_step = next_step or "Offer a short discovery call."
    return TalkTrack(track, opener, questions, next_step, name, problem)
