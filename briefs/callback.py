"""When a lead asked to be called: the window as they wrote it and as instants. Pure data.

Shared by the own-words reader (which finds the window in a form's text) and the SLA and urgency lines
(which honour it), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CallbackWindow:
    starts: datetime  # aware
    ends: datetime  # aware, after starts
    zone: str  # the IANA zone the lead meant, e.g. "Europe/Paris" for "CET"
    said: str  # their words, e.g. "Monday 9–11 CET"
