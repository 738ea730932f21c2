"""A hand-raiser's comment read once: cleaned (briefs.cleaning), its language detected (briefs.language), its
facts and callback window found (briefs.facts). Pure. The reading is stored beside the activity at ingestion
(as_json / from_json), so a brief never pays for it again; a row stored before that is read at its first brief
and kept in memory (read_cached).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from briefs import cleaning, facts, language
from briefs.callback import CallbackWindow
from briefs.facts import WordFact

VERSION = 1  # bump when the reading changes: stored readings of another version are read again


@dataclass(frozen=True)
class Reading:
    text: str  # their own message, cleaned ("" when nothing of theirs is left)
    forwarded: bool  # it came inside a forwarded or replied-to email
    removed: tuple[str, ...]  # what cleaning took out, in words
    language: str | None  # ISO 639-1 of what they wrote; None when too short to tell
    facts: tuple[WordFact, ...]
    callback: CallbackWindow | None


def read(comments: str | None, props: Mapping[str, Any] | None, at: datetime) -> Reading:
    cleaned = cleaning.clean(comments)
    lang = language.detect(cleaned.text)
    found, window = facts.extract(cleaned.text, props or {}, at, lang)
    return Reading(cleaned.text, cleaned.forwarded, cleaned.removed, lang, found, window)


def as_json(reading: Reading) -> dict[str, Any]:
    w = reading.callback
    return {
        "v": VERSION,
        "text": reading.text,
        "forwarded": reading.forwarded,
        "removed": list(reading.removed),
        "language": reading.language,
        "facts": [[f.key, f.text, f.value] for f in reading.facts],
        "callback": None if w is None else {"starts": w.starts.isoformat(), "ends": w.ends.isoformat(),
                                            "zone": w.zone, "said": w.said},
    }


def from_json(data: object) -> Reading | None:
    """A stored reading; None when it is missing, of another version or unreadable (it is then read again)."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        return None
    try:
        found = tuple(WordFact(str(k), facts.LABELS[str(k)], str(t), None if v is None else str(v))
                      for k, t, v in data.get("facts") or [])
        cb = data.get("callback")
        window = None if not cb else CallbackWindow(datetime.fromisoformat(cb["starts"]),
                                                    datetime.fromisoformat(cb["ends"]), str(cb["zone"]),
                                                    str(cb["said"]))
        lang = data.get("language")
        return Reading(str(data.get("text") or ""), bool(data.get("forwarded")),
                       tuple(str(r) for r in data.get("removed") or []),
                       str(lang) if lang else None, found, window)
    except (KeyError, TypeError, ValueError):
        return None


def _props_key(props: Mapping[str, Any] | None) -> str:
    if not props:
        return ""
    keys = {k for k in props if isinstance(k, str) and facts.fold_key(k) in _FIELD_NAMES}
    return json.dumps({k: props[k] for k in sorted(keys)}, default=str, sort_keys=True)


_FIELD_NAMES = frozenset(name for names in facts.FIELDS.values() for name in names)


@lru_cache(maxsize=4096)
def _read_cached(comments: str | None, props_key: str, at: datetime) -> Reading:
    props = json.loads(props_key) if props_key else {}
    return read(comments, props, at)


def read_cached(comments: str | None, props: Mapping[str, Any] | None, at: datetime) -> Reading:
    """read(), once per process for the same comment, fields and time."""
    return _read_cached(comments, _props_key(props), at)


def worth_reading(kind: str, comments: str | None, props: Mapping[str, Any] | None) -> bool:
    """Whether an activity has words to read: a form with a comment, or with a field that carries a fact."""
    if kind != "form_submit":
        return False
    return bool(comments and comments.strip()) or bool(_props_key(props))


def warm_up() -> None:
    """Load the language detector and the date parser (about 2 s) before the first comment needs them, so that
    the first hand-raiser after a start is not late. Reads a sample; caches nothing of a lead's."""
    read("Bitte rufen Sie mich morgen zwischen 9 und 11 Uhr an. Budget ist freigegeben.", None,
         datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
