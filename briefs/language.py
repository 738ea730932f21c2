"""The language a lead wrote in, from their own text (lingua-language-detector). Pure: text in, ISO 639-1 out.

The detector knows only the languages our buyers write in (English, German, French, Spanish, Italian, Dutch,
Portuguese): fewer models to load, and fewer look-alike languages to confuse. It is built once per process, on
the first text long enough to read. A short or mixed text gives None, never a guess.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

CODES = ("en", "de", "fr", "es", "it", "nl", "pt")
NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
         "pt": "Portuguese"}
MIN_LETTERS = 24  # below this, a sentence's worth of letters, no guess is made
MIN_CONFIDENCE = 0.6  # and the best language must be clearly ahead
_WORD = re.compile(r"[^\W\d_]+")
# Names of places and products say nothing of the writer's language ("our plant in München"): capitalised
# words after the first of a sentence are left out when enough other words remain.
_INNER_CAPITAL = re.compile(r"(?<=[^\s.!?¿¡])(\s+)[A-ZÄÖÜÉÈÀÇÑ][\w'-]*")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder  # loaded on first use: it is large

    codes = [getattr(IsoCode639_1, code.upper()) for code in CODES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_minimum_relative_distance(0.1).build()


def detect(text: str | None) -> str | None:
    """ISO 639-1 code ("de") of the language of `text`; None when it is too short or not clear."""
    if not text:
        return None
    letters = sum(len(w) for w in _WORD.findall(text))
    if letters < MIN_LETTERS:
        return None
    common = _INNER_CAPITAL.sub(r"\1", text)
    if sum(len(w) for w in _WORD.findall(common)) >= MIN_LETTERS:
        text = common
    values = _detector().compute_language_confidence_values(text[:2000])
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    code = str(values[0].language.iso_code_639_1.name).lower()
    return code if code in CODES else None


def name(code: str | None) -> str | None:
    return NAMES.get(code or "")
