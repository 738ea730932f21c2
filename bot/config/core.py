"""The core settings: the database, the HTTP port, the webhook body limit and the generic webhook's secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import DEFAULT_DATABASE_URL, ConfigError, env_secret


@dataclass(frozen=True)
class Core:
    database_url: str
    port: int
    max_body_bytes: int
    webhook_secret: str | None


def whole_number(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
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


def load_core(env: Mapping[str, str]) -> Core:
    return Core(
        database_url=database_url(env.get("DATABASE_URL", "") or DEFAULT_DATABASE_URL),
        port=whole_number(env, "PORT", 3000, 1, 65535),
        max_body_bytes=whole_number(env, "LEADBRIEF_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
        webhook_secret=env_secret(env, "LEADBRIEF_WEBHOOK_SECRET"),
    )
