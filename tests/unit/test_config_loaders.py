"""Configuration split by concern: each loader on its own, and load_settings composing them."""

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.config.access import load_access
from bot.config.core import load_core
from bot.config.delivery import load_retry_hours
from bot.config.file import ConfigFile, read
from bot.config.follow_up import load_follow_up
from bot.config.privacy import load_retention_days
from bot.config.slack import load_routes, load_slack
from bot.settings import Access, env_secret
from briefs.followthrough import FollowUpPolicy

FILE = Path("/etc/leadbrief.toml")


def toml(**sections) -> ConfigFile:
    return ConfigFile(path=FILE, data=sections)


def test_without_a_file_every_section_takes_its_defaults():
    none = ConfigFile()
    assert (load_access(none), load_retention_days(none), load_retry_hours(none), load_follow_up(none),
            load_routes(none)) == (Access(), None, 24.0, FollowUpPolicy(), {})


def test_core_reads_the_environment():
    core = load_core({"DATABASE_URL": "postgres://u@h/db", "PORT": "8080", "LEADBRIEF_MAX_BODY_BYTES": "2048",
                      "LEADBRIEF_WEBHOOK_SECRET": "s" * 16})
    assert (core.database_url, core.port, core.max_body_bytes, core.webhook_secret) == (
        "postgresql+psycopg://u@h/db", 8080, 2048, "s" * 16)
    with pytest.raises(ConfigError, match=re.escape("PORT='http' is not a whole number (expected 1-65535)")):
        load_core({"PORT": "http"})
    with pytest.raises(ConfigError, match=re.escape("LEADBRIEF_MAX_BODY_BYTES=10 is out of range")):
        load_core({"LEADBRIEF_MAX_BODY_BYTES": "10"})
    with pytest.raises(ConfigError, match="DATABASE_URL uses 'mysql'"):
        load_core({"DATABASE_URL": "mysql://u@h/db"})


@pytest.mark.parametrize(("env", "message"), [
    ({"SLACK_BOT_TOKEN": "xoxp-1"}, "SLACK_BOT_TOKEN does not look like a bot token"),
    ({"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN does not look like an app-level token"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "LEADBRIEF_DEFAULT_CHANNEL": "C0Q"}, "SLACK_SIGNING_SECRET is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "x"}, "LEADBRIEF_DEFAULT_CHANNEL is not set"),
])
def test_slack_settings_that_cannot_work_stop_startup(env, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_slack(env)


def test_slack_channel_and_routes():
    slack = load_slack({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "LEADBRIEF_DEFAULT_CHANNEL": "#C0Q"})
    assert slack.default_channel == "C0Q" and slack.signing_secret is None
    assert load_routes(toml(slack={"routes": {" Jane@OurCo.example ": " C0JANE "}})) == {"jane@ourco.example": "C0JANE"}
    with pytest.raises(ConfigError, match=re.escape(f"LEADBRIEF_CONFIG {FILE}: slack.routes must map rep emails")):
        load_routes(toml(slack={"routes": {"jane": "C0JANE"}}))
    with pytest.raises(ConfigError, match=re.escape("[slack] takes only routes")):
        load_routes(toml(slack={"channels": []}))


def test_each_section_names_the_file_in_its_errors():
    for loader, sections, message in (
        (load_access, {"access": {"users": ["C0"]}}, "access.users must be a list of Slack ids starting with U or W"),
        (load_retention_days, {"privacy": {"retention_days": True}}, "privacy.retention_days must be a whole number"),
        (load_retry_hours, {"delivery": {"retry_hours": 0}}, "delivery.retry_hours must be a number of hours, 0.1 to "
                                                             "720 (got 0)"),
        (load_follow_up, {"follow_up": {"timezone": "Mars/Olympus"}}, "follow_up.timezone 'Mars/Olympus' is not a "
                                                                      "time zone"),
        (load_follow_up, {"follow_up": {"digest_time": "9am"}}, "follow_up.digest_time must be HH:MM"),
    ):
        with pytest.raises(ConfigError, match=re.escape(f"LEADBRIEF_CONFIG {FILE}: {message}")):
            loader(toml(**sections))


def test_the_rules_file_is_read_once_and_must_exist_when_named(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read(str(tmp_path / "missing.toml"), required=True)
    assert read(str(tmp_path / "missing.toml"), required=False) == ConfigFile()
    bad = tmp_path / "bad.toml"
    bad.write_text("[access\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read(str(bad), required=True)


def test_load_settings_composes_the_concerns(tmp_path):
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text('[slack]\nroutes = { "jane@ourco.example" = "C0JANE" }\n[privacy]\nretention_days = 30\n'
                   '[delivery]\nretry_hours = 2\n[access]\nusers = ["U0BOSS"]\n[qualification]\nscore_threshold = 80\n')
    s = load_settings({"LEADBRIEF_CONFIG": str(cfg), "PORT": "4000"}, dotenv=False)
    assert (s.port, s.config_path, s.slack_routes, s.retention_days, s.delivery_retry_hours, s.access.users,
            s.rules.score_threshold) == (4000, str(cfg), {"jane@ourco.example": "C0JANE"}, 30, 2.0, ("U0BOSS",), 80)


def test_env_secret():
    assert env_secret({"X": "  "}, "X") is None and env_secret({"X": " " + "s" * 16}, "X") == "s" * 16
    with pytest.raises(ConfigError, match=re.escape("X is too short (expected at least 16 characters)")):
        env_secret({"X": "short"}, "X")
