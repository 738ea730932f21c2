"""Settings from the environment (and .env), rules from leadbrief.toml. Bad settings stop startup with one line.

One loader per concern (core, slack, access, privacy, delivery, follow_up, triage, rules), each in its own module here,
plus the sources' own loaders (handlers/sources/<name>.py); load_settings composes them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from dotenv import load_dotenv

from bot.config import file
from bot.config.access import load_access
from bot.config.accounts import load_accounts
from bot.config.core import database_url, load_core
from bot.config.delivery import load_retry_hours
from bot.config.follow_up import load_follow_up
from bot.config.notes import load_note_roles
from bot.config.owners import load_owners
from bot.config.privacy import load_retention_days
from bot.config.rules import load_rules
from bot.config.slack import load_routes, load_slack
from bot.config.sources import load_sources
from bot.config.triage import load_triage
from bot.settings import (
    DEFAULT_CONFIG_FILE,
    DEFAULT_DATABASE_URL,
    MIN_SECRET_LENGTH,
    Access,
    ConfigError,
    Settings,
)

__all__ = ["DEFAULT_CONFIG_FILE", "DEFAULT_DATABASE_URL", "MIN_SECRET_LENGTH", "Access", "ConfigError", "Settings",
           "database_url", "load_settings"]

# The leadbrief.toml tables read here rather than by the rules.
SECTIONS = ("slack", "sources", "access", "privacy", "follow_up", "delivery", "owners", "triage", "notes", "accounts")


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    config_path, required = file.locate(env)
    slack = load_slack(env)
    config = file.read(config_path, required=required)
    core = load_core(env)
    follow_up = load_follow_up(config)
    return Settings(
        database_url=core.database_url,
        port=core.port,
        max_body_bytes=core.max_body_bytes,
        webhook_secret=core.webhook_secret,
        config_path=config_path,
        rules=replace(load_rules(config, SECTIONS), clock=follow_up.brief_clock()),
        slack_bot_token=slack.bot_token,
        slack_app_token=slack.app_token,
        slack_signing_secret=slack.signing_secret,
        slack_api_url=slack.api_url,
        slack_default_channel=slack.default_channel,
        slack_routes=load_routes(config),
        sources=load_sources(env, config),
        access=load_access(config),
        retention_days=load_retention_days(config),
        follow_up=follow_up,
        delivery_retry_hours=load_retry_hours(config),
        owners=load_owners(config),
        triage=load_triage(config),
        note_roles=load_note_roles(config),
        accounts=load_accounts(config),
    )
