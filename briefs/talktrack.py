"""Talk-track selection and rendering from Jinja2 templates, in a sandbox.

A template writes plain lines: `OPENER:` (one), `ASK:` (discovery questions, up to three) and `NEXT:`
(the next step). Lines without a prefix continue the previous one. Templates are looked up as
`{track}.{persona}.j2`, then `{track}.j2`, first in the admin's folder, then in ours.
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
    return env


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
    return opener, [q for q in questions if q][:MAX_QUESTIONS], next_step


def render(track: str, persona: str | None, context: dict[str, Any], templates_dir: str | None = None) -> TalkTrack:
    """Never raises: a brief must not fail because of its talk track. Problems are reported on the result."""
    ctx = _clean(context)
    names = [f"{track}.{_slug(persona)}.j2"] if _slug(persona) else []
    names.append(f"{track}.j2")
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
        opener = f"Hi {ctx.get('greeting') or 'there'}, thanks for your interest. What prompted you to look at us now?"
        next_step = next_step or "Offer a short discovery call."
    return TalkTrack(track, opener, questions, next_step, name, problem)
