"""Event files for `leadbrief ingest`: JSON Lines (streamed) or one JSON array / {"events": [...]}."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from briefs.events import (
    MAX_JSON_DEPTH,
    Event,
    FieldError,
    JSONTooDeep,
    event_from_json,
    json_too_deep,
    load_json,
    validate_event,
)


@dataclass(frozen=True)
class Item:
    line: int  # 1-based line where the event starts
    event: Event | None
    errors: list[FieldError]


class FileError(Exception):
    pass


def _first_char(path: Path) -> str:
    with path.open("rb") as f:
        while chunk := f.read(4096):
            stripped = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")
            if stripped:
                return chr(stripped[0])
    return ""


def read_events(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[Item]:
    """Validate each event on its own; `progress` gets the bytes consumed since the last call."""
    if not path.is_file():
        raise FileError(f"{path}: no such file")
    first = _first_char(path)
    if first == "":
        return
    if first == "[":
        yield from _array(path, progress)
        return
    yield from _lines(path, progress)


def _lines(path: Path, progress) -> Iterator[Item]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if progress:
                progress(len(raw))
            event = event_from_json(raw)
            if event is not None:
                yield Item(number, event, [])
                continue
            # Not a valid event as it stands: parse it the slow way to say why (or to find a BOM,
            # a blank line, a {"events": [...]} line or a pretty-printed document).
            text = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if not text:
                continue
            try:
                obj = load_json(text)
            except JSONTooDeep as exc:
                yield Item(number, None, [FieldError(number, "(line)", f"not valid JSON: {exc}")])
                continue
            except ValueError as exc:
                if number == 1 and text.startswith("{") and not text.endswith("}"):
                    # A pretty-printed single object or {"events": [...]}, not JSON Lines.
                    yield from _whole(path, progress)
                    return
                yield Item(number, None, [FieldError(number, "(line)", f"not valid JSON: {exc.msg}")])
                continue
            if isinstance(obj, dict) and "events" in obj and "type" not in obj:
                yield from _from_list(obj["events"], [number] * len(obj["events"] if isinstance(obj["events"], list) else []))
                continue
            event, errors = validate_event(obj, number)
            yield Item(number, event, errors)


def _whole(path: Path, progress) -> Iterator[Item]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    try:
        obj = load_json(text)
    except ValueError as exc:
        raise FileError(f"{path}: not JSON Lines, and not one JSON document either ({exc})") from None
    items = obj.get("events") if isinstance(obj, dict) and "type" not in obj else [obj]
    yield from _from_list(items, [1] * len(items) if isinstance(items, list) else [])


def _from_list(items, lines: list[int]) -> Iterator[Item]:
    if not isinstance(items, list):
        yield Item(lines[0] if lines else 1, None, [FieldError(1, "events", "expected a JSON array")])
        return
    for obj, line in zip(items, lines, strict=True):
        event, errors = validate_event(obj, line)
        yield Item(line, event, errors)


def _array(path: Path, progress) -> Iterator[Item]:
    """Walk the array element by element so that every reject can name its line."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    if progress:
        progress(path.stat().st_size)
    if json_too_deep(text, MAX_JSON_DEPTH + 1):  # the array itself is one level
        raise FileError(f"{path}: not valid JSON: an event is nested deeper than {MAX_JSON_DEPTH} levels")
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line = 1 + text.count("\n", 0, pos)
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            if text[pos] == "\n":
                line += 1
            pos += 1
        if pos >= n:
            raise FileError(f"{path}: the JSON array is not closed (missing ])")
        if text[pos] == "]":
            return
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError as exc:
            raise FileError(f"{path}: line {line}: not valid JSON ({exc.msg}); fix it or use JSON Lines") from None
        event, errors = validate_event(obj, line)
        yield Item(line, event, errors)
        line += text.count("\n", pos, end)
        pos = end
