"""[notes]: who writes handoff notes in Slack, so the brief labels each note by its author's role
("Mia, CSM (yesterday): …"). Keys are Slack user ids (U…/W…) or user group ids (S…); a person in none of
them is shown without a role, never with a wrong one."""

from __future__ import annotations

import re

from bot.config.file import ConfigFile
from bot.settings import ConfigError

KEYS = {"roles"}
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,20}$")
MAX_ROLE = 64


def load_note_roles(file: ConfigFile) -> dict[str, str]:
    """Slack user or user group id -> the role its notes are labelled with."""
    section = file.section("notes")
    if not isinstance(section, dict):
        raise ConfigError(f"{file.where}: [notes] must be a table, e.g. [notes] roles = {{ U0123ABCD = \"CSM\" }}")
    unknown = set(section) - KEYS
    if unknown:
        raise ConfigError(f"{file.where}: unknown key notes.{sorted(unknown)[0]} (expected: roles)")
    roles = section.get("roles", {})
    if not isinstance(roles, dict):
        raise ConfigError(f'{file.where}: notes.roles must map Slack ids to roles, e.g. {{ U0123ABCD = "CSM", '
                          f'S0456EFGH = "marketing" }}')
    out: dict[str, str] = {}
    for key, role in roles.items():
        if not _SLACK_ID.match(key):
            raise ConfigError(f"{file.where}: notes.roles key {key!r} is not a Slack user id (U…, W…) or user "
                              "group id (S…)")
        if not isinstance(role, str) or not role.strip() or len(role.strip()) > MAX_ROLE:
            raise ConfigError(f"{file.where}: notes.roles.{key} must be a role of 1 to {MAX_ROLE} characters, "
                              'e.g. "CSM", "marketing", "sales rep"')
        out[key] = " ".join(role.split())
    return out
