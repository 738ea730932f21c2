"""[delivery] retry_hours: how long a brief Slack cannot take is retried before it is dead-lettered."""

from __future__ import annotations

from bot.config.file import ConfigFile
from bot.settings import ConfigError

DEFAULT_RETRY_HOURS = 24.0


def load_retry_hours(file: ConfigFile) -> float:
    if file.path is None:
        return DEFAULT_RETRY_HOURS
    section = file.section("delivery")
    if not isinstance(section, dict) or set(section) - {"retry_hours"}:
        raise ConfigError(f"{file.where}: [delivery] takes only retry_hours")
    hours = section.get("retry_hours", DEFAULT_RETRY_HOURS)
    if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0.1 <= hours <= 720:
        raise ConfigError(f"{file.where}: delivery.retry_hours must be a number of hours, 0.1 to 720 "
                          f"(got {hours!r})")
    return float(hours)
