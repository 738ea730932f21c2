"""The settings, as typed values: what bot.config loads and every layer below the assembly reads.

Also the small readers each concern's loader shares (the sources' loaders live with their sources, below the
assembly, so these cannot live in bot.config)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from briefs.accounts import AccountPolicy
from briefs.followthrough import FollowUpPolicy
from briefs.rules import Rules
from briefs.triage import Destination, TriagePolicy

DEFAULT_DATABASE_URL = "sqlite:///./leadbrief.db"
DEFAULT_CONFIG_FILE = "leadbrief.toml"
MIN_SECRET_LENGTH = 16


class ConfigError(Exception):
    """One line naming the setting, what is wrong and what is expected."""


@dataclass(frozen=True)
class Access:
    channels: tuple[str, ...] = ()  # members of these channels
    usergroups: tuple[str, ...] = ()  # members of these user groups (S0123...)
    users: tuple[str, ...] = ()  # these people (U0123...)
    own_leads_only: bool = False  # reps see only leads they own (by their Slack email)

    @property
    def configured(self) -> bool:
        return bool(self.channels or self.usergroups or self.users)


@dataclass(frozen=True)
class TriageSettings:
    """[triage]: the domain's policy (briefs.triage), and where its notices go in Slack."""

    policy: TriagePolicy = field(default_factory=TriagePolicy)
    # Do-not-contact notices (with the reason, and any sends after an unsubscribe).
    marketing_ops_channel: str | None = None
    # Destination (careers, partnerships, marketing, manager) -> a Slack channel (C…, G…) or person (U…, W…).
    destinations: Mapping[str, str] = field(default_factory=dict)

    def channel_for(self, destination: Destination | None, default: str | None) -> str | None:
        """Where a notice goes: the destination's own (None: do not contact, to marketing ops), else marketing
        ops, else `default` (the leads channel)."""
        own = self.destinations.get(destination) if destination else None
        return own or self.marketing_ops_channel or default


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    config_path: str | None = None
    rules: Rules = field(default_factory=Rules)
    max_body_bytes: int = 8 * 1024 * 1024
    webhook_secret: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    slack_default_channel: str | None = None
    # Rep email -> channel id, from [slack] routes in leadbrief.toml.
    slack_routes: dict[str, str] = field(default_factory=dict)
    # Each source's own settings, keyed by source name. Their types live with the sources
    # (handlers/sources/<name>.py), which read them back typed: segment.CONFIG.of(settings).
    sources: Mapping[str, object] = field(default_factory=dict)
    # Who may use /lead, notes and buttons ([access] in leadbrief.toml). With none of these set: members of
    # the leads channel (slack_default_channel).
    access: Access = field(default_factory=Access)
    # [privacy] retention_days: activities older than this are purged (`leadbrief purge`); None keeps them.
    retention_days: int | None = None
    # [follow_up]: the speed-to-lead SLA, business hours, thread-update cooldown, digest time.
    follow_up: FollowUpPolicy = field(default_factory=FollowUpPolicy)
    # [delivery] retry_hours: how long a brief Slack cannot take (5xx, unreachable) is retried before it is
    # dead-lettered.
    delivery_retry_hours: float = 24.0
    # [owners]: a rep's name as CRM exports write it (folded, briefs.signals.fold) -> their email (`leadbrief import`).
    owners: Mapping[str, str] = field(default_factory=dict)
    # [triage]: who is not paged (do not contact, not a buyer, machine opens) and where their notices go.
    triage: TriageSettings = field(default_factory=TriageSettings)
    # [notes] roles: Slack user or user group id -> the role a note they write is labelled with ("CSM").
    note_roles: Mapping[str, str] = field(default_factory=dict)
    # [accounts]: matching, the committee window, the owner rule, the surge (briefs.accounts, docs/accounts.md).
    accounts: AccountPolicy = field(default_factory=AccountPolicy)

    def with_source(self, name: str, source_settings: object) -> Settings:
        return replace(self, sources={**self.sources, name: source_settings})

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    def require_webhook_secret(self) -> str:
        if not self.webhook_secret:
            raise ConfigError(
                "LEADBRIEF_WEBHOOK_SECRET is not set: webhooks cannot be authenticated "
                f"(expected a random string of at least {MIN_SECRET_LENGTH} characters, e.g. from `openssl rand -hex 32`)"
            )
        return self.webhook_secret


# --- what the loaders share ----------------------------------------------------------------------


def env_text(env: Mapping[str, str], name: str) -> str | None:
    """The variable, trimmed; None when unset or blank."""
    return env.get(name, "").strip() or None


def env_secret(env: Mapping[str, str], name: str) -> str | None:
    value = env_text(env, name)
    if value and len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{name} is too short (expected at least {MIN_SECRET_LENGTH} characters)")
    return value


SourceSettingsT = TypeVar("SourceSettingsT")


@dataclass(frozen=True)
class SourceConfig(Generic[SourceSettingsT]):
    """One source's settings: how they load, and where Settings keeps them (Settings.sources[name]).

    load(env, section, where) reads the environment and the source's [sources.<name>] table of
    leadbrief.toml (`section`: {} when absent; whatever TOML held otherwise, for the loader to check), and
    raises ConfigError starting with `where` ("LEADBRIEF_CONFIG <path>") for a bad section."""

    name: str
    default: SourceSettingsT  # the settings of a source nobody configured
    load: Callable[[Mapping[str, str], Any, str], SourceSettingsT]
    takes_section: bool = False  # whether [sources.<name>] is allowed in leadbrief.toml

    def of(self, settings: Settings) -> SourceSettingsT:
        found = settings.sources.get(self.name)
        return found if isinstance(found, type(self.default)) else self.default

    def configure(self, settings: Settings, **changes: Any) -> Settings:
        """settings with some of this source's settings changed (what tests set)."""
        return settings.with_source(self.name, replace(self.of(settings), **changes))  # type: ignore[type-var]
