"""Tunable rules (the `leadbrief.toml` file), with defaults that fit most B2B funnels."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from briefs.sla import BriefClock

DEFAULT_HAND_RAISER_FORMS = (
    "contact sales",
    "talk to sales",
    "request a demo",
    "demo request",
    "book a demo",
    "request a quote",
    "request pricing",
    "contact us",
    # German, French and Spanish, written as matched: lowercase, accents left out (briefs.signals.fold).
    "vertrieb kontaktieren",
    "kontakt vertrieb",
    "demo anfordern",
    "demo vereinbaren",
    "angebot anfordern",
    "ruckruf anfordern",
    "ruckruf vereinbaren",
    "kontakt aufnehmen",
    "contacter le service commercial",
    "contacter un commercial",
    "contacter les ventes",
    "contactez nous",
    "demander une demo",
    "demande de demo",
    "demander un devis",
    "demande de devis",
    "etre rappele",
    "solicitar una demo",
    "solicitar demo",
    "solicite una demo",
    "contactar con ventas",
    "hablar con ventas",
    "contactar con un comercial",
    "solicitar presupuesto",
    "solicitar una cotizacion",
    "contactenos",
)
DEFAULT_NOTABLE_PAGES = ("pricing", "demo", "quote", "trial", "contact", "compare", "vs", "case-stud", "roi")


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Rules:
    # [qualification]
    score_threshold: int = 100
    hand_raiser_forms: tuple[str, ...] = DEFAULT_HAND_RAISER_FORMS
    qualifying_stages: tuple[str, ...] = ("mql", "sql")
    reengage_touches: int = 3
    reengage_window_days: int = 7
    reengage_quiet_days: int = 90
    # A trigger older than this (a backfill, a late replay) is recorded but does not page a rep.
    trigger_max_age_hours: int = 72
    # An open qualification older than this no longer blocks a new episode.
    reopen_after_days: int = 30
    # [readiness]
    ready_min_touches: int = 5
    ready_max_touches: int = 7
    # [customers]
    nps_detractor_max: int = 6
    nps_promoter_min: int = 9
    csat_unhappy_max: int = 2
    # A customer's renewal this close (days) is watched for risk signals (briefs/lifecycle.py).
    renewal_window_days: int = 90
    # [briefs]
    notable_pages: tuple[str, ...] = DEFAULT_NOTABLE_PAGES
    templates_dir: str | None = None
    max_items: int = 5
    # Not a [section] key: [follow_up]'s hours and hand-raiser SLA, set by the settings loader, so the brief says
    # "Call now" only while the clock runs (None: 09:00-17:00 Monday to Friday, UTC, 5 minutes).
    clock: BriefClock | None = None

    SECTIONS = {
        "qualification": (
            "score_threshold",
            "hand_raiser_forms",
            "qualifying_stages",
            "reengage_touches",
            "reengage_window_days",
            "reengage_quiet_days",
            "trigger_max_age_hours",
            "reopen_after_days",
        ),
        "readiness": ("ready_min_touches", "ready_max_touches"),
        "customers": ("nps_detractor_max", "nps_promoter_min", "csat_unhappy_max", "renewal_window_days"),
        "briefs": ("notable_pages", "templates_dir", "max_items"),
    }

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, extra_sections: tuple[str, ...] = ()) -> Rules:
        """Build from parsed TOML. Unknown keys and wrong types raise RulesError naming the key."""
        types = {f.name: str(f.type) for f in fields(cls)}  # annotations are strings here (PEP 563)
        values: dict[str, Any] = {}
        for section, content in data.items():
            if section in extra_sections:
                continue
            if section not in cls.SECTIONS:
                known = ", ".join(f"[{s}]" for s in (*cls.SECTIONS, *extra_sections))
                raise RulesError(f"unknown section [{section}] (expected one of {known})")
            if not isinstance(content, dict):
                raise RulesError(f"{section} must be a table like [{section}]")
            for key, value in content.items():
                if key not in cls.SECTIONS[section]:
                    raise RulesError(
                        f"{section}.{key} is not a known setting (expected one of {', '.join(cls.SECTIONS[section])})"
                    )
                values[key] = _coerce(f"{section}.{key}", types[key], value)
        rules = cls(**values)
        rules._check()
        return rules

    def _check(self) -> None:
        for name in ("score_threshold", "reengage_touches", "reengage_window_days", "reengage_quiet_days",
                     "trigger_max_age_hours", "reopen_after_days", "ready_min_touches", "max_items",
                     "renewal_window_days"):
            if getattr(self, name) < 1:
                raise RulesError(f"{self._where(name)} must be at least 1, got {getattr(self, name)}")
        if self.ready_max_touches < self.ready_min_touches:
            raise RulesError("readiness.ready_max_touches must not be below readiness.ready_min_touches")
        if not 0 <= self.nps_detractor_max < self.nps_promoter_min <= 10:
            raise RulesError("customers: expected 0 <= nps_detractor_max < nps_promoter_min <= 10")
        if not 1 <= self.csat_unhappy_max <= 5:
            raise RulesError("customers.csat_unhappy_max must be between 1 and 5 (CSAT is on a 1-5 scale)")

    def _where(self, name: str) -> str:
        for section, names in self.SECTIONS.items():
            if name in names:
                return f"{section}.{name}"
        return name


def _coerce(where: str, annotation: str, value: Any) -> Any:
    if annotation == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RulesError(f"{where}: expected a whole number, got {value!r}")
        return value
    if annotation == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise RulesError(f"{where}: expected a list of non-empty strings, got {value!r}")
        return tuple(v.strip().lower() for v in value)
    if annotation == "str | None":
        if not isinstance(value, str):
            raise RulesError(f"{where}: expected a string, got {value!r}")
        return value
    raise RulesError(f"{where}: unsupported setting")  # pragma: no cover
