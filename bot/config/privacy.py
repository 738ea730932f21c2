"""[privacy] retention_days: how long activities are kept (`leadbrief purge`)."""

from __future__ import annotations

from bot.config.file import ConfigFile
from bot.settings import ConfigError


def load_retention_days(file: ConfigFile) -> int | None:
    if file.path is None:
        return None
    section = file.section("privacy")
    if not isinstance(section, dict) or set(section) - {"retention_days"}:
        raise ConfigError(f"{file.where}: [privacy] takes only retention_days")
    days = section.get("retention_days")
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 36500:
        raise ConfigError(f"{file.where}: privacy.retention_days must be a whole number of days, 1 to 36500")
    return days
