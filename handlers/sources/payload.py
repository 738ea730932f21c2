"""Small helpers shared by the source translators."""

from __future__ import annotations

from typing import Any


def dig(data: Any, path: str) -> Any:
    """data["a"]["b"] for path "a.b"; None as soon as a step is missing or not an object."""
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
