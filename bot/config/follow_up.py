"""[follow_up]: the speed-to-lead SLA, escalation, business hours, thread-update cooldown and digest time."""

from __future__ import annotations

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.file import ConfigFile
from bot.settings import ConfigError
from briefs.events import QUALIFY_REASONS
from briefs.followthrough import DEFAULT_SLA_MINUTES, FollowUpPolicy
from briefs.sla import BusinessHours

KEYS = ("sla_minutes", "escalate_minutes", "business_hours", "business_days", "timezone",
        "update_cooldown_minutes", "digest_time")


def _minutes_by_reason(file: ConfigFile, key: str, value: Any) -> dict[str, int]:
    known = (*QUALIFY_REASONS, "default")
    if not isinstance(value, dict) or not all(
        k in known and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10080 for k, v in value.items()
    ):
        raise ConfigError(f"{file.where}: follow_up.{key} must map reasons ({', '.join(known)}) to minutes, "
                          "1 to 10080, e.g. {{ hand_raiser = 5, default = 60 }}")
    return dict(value)


def _timezone(file: ConfigFile, tz: Any) -> str:
    try:
        if not isinstance(tz, str):
            raise ZoneInfoNotFoundError(tz)
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{file.where}: follow_up.timezone {tz!r} is not a time zone "
                          "(expected an IANA name such as America/New_York)") from None
    return tz


def _digest_time(file: ConfigFile, digest: Any) -> time:
    try:
        at = time.fromisoformat(digest) if isinstance(digest, str) and len(digest) == 5 else None
    except ValueError:
        at = None
    if at is None:
        raise ConfigError(f"{file.where}: follow_up.digest_time must be HH:MM, e.g. 09:00 (got {digest!r})")
    return at


def load_follow_up(file: ConfigFile) -> FollowUpPolicy:
    if file.path is None:
        return FollowUpPolicy()
    section = file.section("follow_up")
    if not isinstance(section, dict) or set(section) - set(KEYS):
        raise ConfigError(f"{file.where}: [follow_up] takes only {', '.join(KEYS)}")
    sla = {**DEFAULT_SLA_MINUTES, **_minutes_by_reason(file, "sla_minutes", section.get("sla_minutes", {}))}
    escalate = _minutes_by_reason(file, "escalate_minutes", section.get("escalate_minutes", {}))
    try:
        hours = BusinessHours.parse(section.get("business_hours", "09:00-17:00"),
                                    section.get("business_days", ["mon", "tue", "wed", "thu", "fri"]))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{file.where}: follow_up.{exc}") from None
    tz = _timezone(file, section.get("timezone", "UTC"))
    cooldown = section.get("update_cooldown_minutes", 30)
    if not isinstance(cooldown, int) or isinstance(cooldown, bool) or not 0 <= cooldown <= 1440:
        raise ConfigError(f"{file.where}: follow_up.update_cooldown_minutes must be 0 to 1440 minutes")
    digest = _digest_time(file, section.get("digest_time", "09:00"))
    return FollowUpPolicy(sla_minutes=sla, escalate_minutes=escalate, hours=hours, timezone=tz,
                          update_cooldown_minutes=cooldown, digest_time=digest)
