"""The settings, as typed values: what bot.config loads and every layer below the assembly reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from briefs.followthrough import FollowUpPolicy
from briefs.rules import Rules

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
    # Source webhooks (issue #4): each is enabled by its secret.
    mautic_secret: str | None = field(default=None, repr=False)
    segment_secret: str | None = field(default=None, repr=False)
    # Segment track event name -> activity kind, from [sources.segment] events in leadbrief.toml
    # (merged over the defaults in handlers/sources/segment.py).
    segment_events: dict[str, str] = field(default_factory=dict)
    salesforce_secret: str | None = field(default=None, repr=False)
    salesforce_org_id: str | None = None
    salesforce_instance_url: str | None = None
    # Salesforce user id (15-character form) -> email, from [sources.salesforce] owners.
    salesforce_owners: dict[str, str] = field(default_factory=dict)
    # HubSpot: the app's client secret signs webhooks; a private-app token reads contacts and owners.
    hubspot_client_secret: str | None = field(default=None, repr=False)
    hubspot_access_token: str | None = field(default=None, repr=False)
    hubspot_api_url: str = "https://api.hubapi.com"
    # Marketo: a shared secret header on webhooks; REST credentials for `leadbrief sync marketo`.
    marketo_webhook_secret: str | None = field(default=None, repr=False)
    marketo_base_url: str | None = None
    marketo_client_id: str | None = None
    marketo_client_secret: str | None = field(default=None, repr=False)
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


