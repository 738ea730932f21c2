"""Settings from the environment (and .env), rules from leadbrief.toml. Bad settings stop startup with one line."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import (  # noqa: F401 - re-exported: the settings' home is bot.settings
    DEFAULT_CONFIG_FILE,
    DEFAULT_DATABASE_URL,
    MIN_SECRET_LENGTH,
    Access,
    ConfigError,
    Settings,
)
from briefs.followthrough import FollowUpPolicy
from briefs.rules import Rules, RulesError


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number (expected {lo}-{hi})") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range (expected {lo}-{hi})")
    return value


def database_url(raw: str) -> str:
    raw = raw.strip()
    # Plain postgresql:// would pick psycopg2, which we do not ship.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            raw = "postgresql+psycopg://" + raw[len(prefix):]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a database URL (expected e.g. sqlite:///./leadbrief.db "
            "or postgresql+psycopg://user:password@host:5432/leadbrief)"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"DATABASE_URL uses {url.get_backend_name()!r} (expected sqlite or postgresql)")
    return raw


def _slack_routes(p: Path, data: dict) -> dict[str, str]:
    slack = data.get("slack", {})
    if not isinstance(slack, dict) or set(slack) - {"routes"}:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [slack] takes only routes = {{\"rep@company.com\" = \"C0123ABCD\"}}")
    routes = slack.get("routes", {})
    if not isinstance(routes, dict) or not all(
        isinstance(k, str) and "@" in k and isinstance(v, str) and v.strip() for k, v in routes.items()
    ):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: slack.routes must map rep emails to channel ids")
    return {k.strip().lower(): v.strip() for k, v in routes.items()}


def _segment_events(p: Path, data: dict) -> dict[str, str]:
    from briefs.events import ACTIVITY_KINDS

    sources = data.get("sources", {})
    if not isinstance(sources, dict) or set(sources) - {"segment", "salesforce"}:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [sources] knows only [sources.segment] and [sources.salesforce]")
    segment = sources.get("segment", {})
    if not isinstance(segment, dict) or set(segment) - {"events"}:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [sources.segment] takes only events = {{\"Event Name\" = \"kind\"}}")
    events = segment.get("events", {})
    bad = [f"{k!r} = {v!r}" for k, v in events.items() if not isinstance(v, str) or v not in (*ACTIVITY_KINDS, "ignore")]
    if bad:
        raise ConfigError(
            f"LEADBRIEF_CONFIG {p}: sources.segment.events {', '.join(bad)}: expected one of "
            f"{', '.join(ACTIVITY_KINDS)} or ignore"
        )
    return dict(events)


def _salesforce_owners(p: Path, data: dict) -> dict[str, str]:
    sf = (data.get("sources") or {}).get("salesforce", {})
    if not isinstance(sf, dict) or set(sf) - {"owners"}:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [sources.salesforce] takes only owners = {{\"005...\" = \"rep@company.com\"}}")
    owners = sf.get("owners", {})
    if not isinstance(owners, dict) or not all(isinstance(v, str) and "@" in v for v in owners.values()):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: sources.salesforce.owners must map user ids to emails")
    return {k.strip()[:15]: v.strip().lower() for k, v in owners.items()}


def _ids(p: Path, section: str, key: str, value, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip().startswith(prefixes) for v in value):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: {section}.{key} must be a list of Slack ids starting with "
                          f"{' or '.join(prefixes)}")
    return tuple(v.strip() for v in value)


def _access(p: Path, data: dict) -> Access:
    section = data.get("access", {})
    known = {"channels", "usergroups", "users", "own_leads_only"}
    if not isinstance(section, dict) or set(section) - known:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [access] takes only {', '.join(sorted(known))}")
    own = section.get("own_leads_only", False)
    if not isinstance(own, bool):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: access.own_leads_only must be true or false")
    return Access(
        channels=_ids(p, "access", "channels", section.get("channels", []), ("C", "G")),
        usergroups=_ids(p, "access", "usergroups", section.get("usergroups", []), ("S",)),
        users=_ids(p, "access", "users", section.get("users", []), ("U", "W")),
        own_leads_only=own,
    )


def _retention_days(p: Path, data: dict) -> int | None:
    section = data.get("privacy", {})
    if not isinstance(section, dict) or set(section) - {"retention_days"}:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [privacy] takes only retention_days")
    days = section.get("retention_days")
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 36500:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: privacy.retention_days must be a whole number of days, 1 to 36500")
    return days


def _delivery_retry_hours(p: Path, data: dict) -> float:
    section = data.get("delivery", {})
    if not isinstance(section, dict) or set(section) - {"retry_hours"}:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [delivery] takes only retry_hours")
    hours = section.get("retry_hours", 24)
    if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0.1 <= hours <= 720:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: delivery.retry_hours must be a number of hours, 0.1 to 720 "
                          f"(got {hours!r})")
    return float(hours)


FOLLOW_UP_KEYS = ("sla_minutes", "escalate_minutes", "business_hours", "business_days", "timezone",
                  "update_cooldown_minutes", "digest_time")


def _minutes_by_reason(p: Path, key: str, value) -> dict[str, int]:
    from briefs.events import QUALIFY_REASONS

    known = (*QUALIFY_REASONS, "default")
    if not isinstance(value, dict) or not all(
        k in known and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10080 for k, v in value.items()
    ):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: follow_up.{key} must map reasons ({', '.join(known)}) to minutes, "
                          "1 to 10080, e.g. {{ hand_raiser = 5, default = 60 }}")
    return dict(value)


def _follow_up(p: Path, data: dict) -> FollowUpPolicy:
    from datetime import time as dtime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from briefs.followthrough import DEFAULT_SLA_MINUTES
    from briefs.sla import BusinessHours

    section = data.get("follow_up", {})
    if not isinstance(section, dict) or set(section) - set(FOLLOW_UP_KEYS):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: [follow_up] takes only {', '.join(FOLLOW_UP_KEYS)}")
    sla = {**DEFAULT_SLA_MINUTES, **_minutes_by_reason(p, "sla_minutes", section.get("sla_minutes", {}))}
    escalate = _minutes_by_reason(p, "escalate_minutes", section.get("escalate_minutes", {}))
    try:
        hours = BusinessHours.parse(section.get("business_hours", "09:00-17:00"),
                                    section.get("business_days", ["mon", "tue", "wed", "thu", "fri"]))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: follow_up.{exc}") from None
    tz = section.get("timezone", "UTC")
    try:
        if not isinstance(tz, str):
            raise ZoneInfoNotFoundError(tz)
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: follow_up.timezone {tz!r} is not a time zone "
                          "(expected an IANA name such as America/New_York)") from None
    cooldown = section.get("update_cooldown_minutes", 30)
    if not isinstance(cooldown, int) or isinstance(cooldown, bool) or not 0 <= cooldown <= 1440:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: follow_up.update_cooldown_minutes must be 0 to 1440 minutes")
    digest = section.get("digest_time", "09:00")
    try:
        at = dtime.fromisoformat(digest) if isinstance(digest, str) and len(digest) == 5 else None
    except ValueError:
        at = None
    if at is None:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: follow_up.digest_time must be HH:MM, e.g. 09:00 (got {digest!r})")
    return FollowUpPolicy(sla_minutes=sla, escalate_minutes=escalate, hours=hours, timezone=tz,
                          update_cooldown_minutes=cooldown, digest_time=at)


def _read_toml(path: str | None, *, required: bool) -> tuple[Path | None, dict]:
    if not path:
        return None, {}
    p = Path(path).expanduser()
    if not p.is_file():
        if required:
            raise ConfigError(f"LEADBRIEF_CONFIG={path!r}: no such file (expected a leadbrief.toml)")
        return None, {}
    try:
        return p, tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: not valid TOML ({exc})") from None


def load_rules(path: str | None, *, required: bool) -> Rules:
    p, data = _read_toml(path, required=required)
    if p is None:
        return Rules()
    try:
        rules = Rules.from_mapping(data, extra_sections=("slack", "sources", "access", "privacy", "follow_up",
                                                                "delivery"))
    except RulesError as exc:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: {exc}") from None
    if rules.templates_dir:
        folder = (p.parent / rules.templates_dir).resolve()
        if not folder.is_dir():
            raise ConfigError(f"LEADBRIEF_CONFIG {p}: briefs.templates_dir {rules.templates_dir!r} is not a folder")
        rules = replace(rules, templates_dir=str(folder))
    return rules


def _secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if value and len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{name} is too short (expected at least {MIN_SECRET_LENGTH} characters)")
    return value or None


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    config_path = env.get("LEADBRIEF_CONFIG", "").strip() or None
    required = config_path is not None
    if not config_path and Path(DEFAULT_CONFIG_FILE).is_file():
        config_path = DEFAULT_CONFIG_FILE
    bot_token = env.get("SLACK_BOT_TOKEN", "").strip() or None
    if bot_token and not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN does not look like a bot token (expected it to start with xoxb-)")
    app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN does not look like an app-level token (expected it to start with xapp-)")
    signing_secret = env.get("SLACK_SIGNING_SECRET", "").strip() or None
    default_channel = env.get("LEADBRIEF_DEFAULT_CHANNEL", "").strip().lstrip("#") or None
    if bot_token and not signing_secret and not app_token:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set (expected the Signing Secret from your Slack app's Basic Information "
            "page; or set SLACK_APP_TOKEN for Socket Mode)"
        )
    if bot_token and not default_channel:
        raise ConfigError(
            "LEADBRIEF_DEFAULT_CHANNEL is not set (expected the id of the team's unassigned-leads channel, e.g. C0123ABCD)"
        )
    toml_path, toml_data = _read_toml(config_path, required=required)
    return Settings(
        slack_signing_secret=signing_secret,
        slack_default_channel=default_channel,
        slack_routes=_slack_routes(toml_path, toml_data) if toml_path else {},
        segment_events=_segment_events(toml_path, toml_data) if toml_path else {},
        mautic_secret=_secret(env, "MAUTIC_WEBHOOK_SECRET"),
        segment_secret=_secret(env, "SEGMENT_SHARED_SECRET"),
        salesforce_secret=_secret(env, "SALESFORCE_WEBHOOK_SECRET"),
        salesforce_org_id=env.get("SALESFORCE_ORGANIZATION_ID", "").strip() or None,
        salesforce_instance_url=env.get("SALESFORCE_INSTANCE_URL", "").strip() or None,
        salesforce_owners=_salesforce_owners(toml_path, toml_data) if toml_path else {},
        access=_access(toml_path, toml_data) if toml_path else Access(),
        retention_days=_retention_days(toml_path, toml_data) if toml_path else None,
        follow_up=_follow_up(toml_path, toml_data) if toml_path else FollowUpPolicy(),
        delivery_retry_hours=_delivery_retry_hours(toml_path, toml_data) if toml_path else 24.0,
        hubspot_client_secret=env.get("HUBSPOT_CLIENT_SECRET", "").strip() or None,
        hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN", "").strip() or None,
        hubspot_api_url=(env.get("HUBSPOT_API_URL", "").strip() or "https://api.hubapi.com").rstrip("/"),
        marketo_webhook_secret=_secret(env, "MARKETO_WEBHOOK_SECRET"),
        marketo_base_url=(env.get("MARKETO_BASE_URL", "").strip() or None),
        marketo_client_id=env.get("MARKETO_CLIENT_ID", "").strip() or None,
        marketo_client_secret=env.get("MARKETO_CLIENT_SECRET", "").strip() or None,
        database_url=database_url(env.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL),
        port=_int(env, "PORT", 3000, 1, 65535),
        config_path=config_path,
        rules=load_rules(config_path, required=required),
        max_body_bytes=_int(env, "LEADBRIEF_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
        webhook_secret=_secret(env, "LEADBRIEF_WEBHOOK_SECRET"),
        slack_bot_token=bot_token,
        slack_app_token=app_token,
        slack_api_url=env.get("SLACK_API_URL", "").strip() or None,
    )
