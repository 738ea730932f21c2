"""[access]: who may use /lead, notes and buttons."""

from __future__ import annotations

from typing import Any

from bot.config.file import ConfigFile
from bot.settings import Access, ConfigError

KEYS = {"channels", "usergroups", "users", "own_leads_only"}


def _ids(file: ConfigFile, key: str, value: Any, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip().startswith(prefixes) for v in value):
        raise ConfigError(f"{file.where}: access.{key} must be a list of Slack ids starting with "
                          f"{' or '.join(prefixes)}")
    return tuple(v.strip() for v in value)


def load_access(file: ConfigFile) -> Access:
    if file.path is None:
        return Access()
    section = file.section("access")
    if not isinstance(section, dict) or set(section) - KEYS:
        raise ConfigError(f"{file.where}: [access] takes only {', '.join(sorted(KEYS))}")
    own = section.get("own_leads_only", False)
    if not isinstance(own, bool):
        raise ConfigError(f"{file.where}: access.own_leads_only must be true or false")
    return Access(
        channels=_ids(file, "channels", section.get("channels", []), ("C", "G")),
        usergroups=_ids(file, "usergroups", section.get("usergroups", []), ("S",)),
        users=_ids(file, "users", section.get("users", []), ("U", "W")),
        own_leads_only=own,
    )
