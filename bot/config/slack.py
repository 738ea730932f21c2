"""Slack: the tokens and signing secret from the environment, the leads channel, [slack] routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config.file import ConfigFile
from bot.settings import ConfigError, env_text


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    default_channel: str | None = None
    api_url: str | None = None


def load_slack(env: Mapping[str, str]) -> SlackConfig:
    bot_token = env_text(env, "SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN does not look like a bot token (expected it to start with xoxb-)")
    app_token = env_text(env, "SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN does not look like an app-level token (expected it to start with xapp-)")
    signing_secret = env_text(env, "SLACK_SIGNING_SECRET")
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
    return SlackConfig(bot_token=bot_token, app_token=app_token, signing_secret=signing_secret,
                       default_channel=default_channel, api_url=env_text(env, "SLACK_API_URL"))


def load_routes(file: ConfigFile) -> dict[str, str]:
    """[slack] routes: rep email -> the channel their briefs go to."""
    if file.path is None:
        return {}
    slack = file.section("slack")
    if not isinstance(slack, dict) or set(slack) - {"routes"}:
        raise ConfigError(f"{file.where}: [slack] takes only routes = {{\"rep@company.com\" = \"C0123ABCD\"}}")
    routes = slack.get("routes", {})
    if not isinstance(routes, dict) or not all(
        isinstance(k, str) and "@" in k and isinstance(v, str) and v.strip() for k, v in routes.items()
    ):
        raise ConfigError(f"{file.where}: slack.routes must map rep emails to channel ids")
    return {k.strip().lower(): v.strip() for k, v in routes.items()}
