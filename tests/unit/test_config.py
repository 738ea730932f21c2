"""Settings and the rules file."""

import re
import tomllib

import pytest

from bot.config import ConfigError, load_settings
from briefs.rules import Rules
from tests.support.team import ROOT


def test_example_rules_file_documents_exactly_the_defaults():
    data = tomllib.loads((ROOT / "leadbrief.example.toml").read_text())
    assert Rules.from_mapping(data) == Rules()


def test_defaults_and_postgres_url_normalisation():
    s = load_settings({}, dotenv=False)
    assert (s.database_url, s.port, s.webhook_secret) == ("sqlite:///./leadbrief.db", 3000, None)
    s = load_settings({"DATABASE_URL": "postgresql://u@h/db", "PORT": "8080"}, dotenv=False)
    assert s.database_url == "postgresql+psycopg://u@h/db" and s.port == 8080


def test_secrets_never_appear_in_repr():
    s = load_settings({"LEADBRIEF_WEBHOOK_SECRET": "s3cret-s3cret-s3cret", "SLACK_BOT_TOKEN": "xoxb-123-abc",
                       "SLACK_SIGNING_SECRET": "signing-secret-xyz", "LEADBRIEF_DEFAULT_CHANNEL": "C0QUEUE"}, dotenv=False)
    text = repr(s)
    assert "s3cret" not in text and "xoxb-123" not in text and "signing-secret" not in text


def test_templates_dir_is_relative_to_the_rules_file(tmp_path):
    (tmp_path / "tracks").mkdir()
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text('[briefs]\ntemplates_dir = "tracks"\n')
    s = load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)
    assert s.rules.templates_dir == str((tmp_path / "tracks").resolve())
    cfg.write_text('[briefs]\ntemplates_dir = "missing"\n')
    with pytest.raises(ConfigError, match="briefs.templates_dir 'missing' is not a folder"):
        load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)


def test_app_manifest_declares_what_the_app_uses_and_no_more():
    import yaml

    manifest = yaml.safe_load((ROOT / "app_manifest.yml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # No im:write: DMs are chat.postMessage to a user id (conversations.open is never called). The history
    # scopes let a retry after an unclear answer look for the brief before posting it again.
    assert scopes == {"chat:write", "chat:write.public", "commands", "users:read", "users:read.email",
                      "channels:read", "groups:read", "usergroups:read", "channels:history", "groups:history",
                      "im:history", "im:read"}
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/lead" and command["should_escape"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_access_and_privacy_sections(tmp_path):
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text('[access]\nchannels = ["C0LEADS"]\nusergroups = ["S0SALES"]\nusers = ["U0BOSS"]\n'
                   'own_leads_only = true\n[privacy]\nretention_days = 365\n')
    s = load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)
    assert (s.access.channels, s.access.usergroups, s.access.users, s.access.own_leads_only) == (
        ("C0LEADS",), ("S0SALES",), ("U0BOSS",), True)
    assert s.access.configured and s.retention_days == 365
    assert not load_settings({}, dotenv=False).access.configured


@pytest.mark.parametrize(("toml", "message"), [
    ('[access]\nchannels = ["leads"]\n', "access.channels must be a list of Slack ids starting with C or G"),
    ('[access]\nusergroups = "S0"\n', "access.usergroups must be a list of Slack ids starting with S"),
    ('[access]\nown_leads_only = "yes"\n', "access.own_leads_only must be true or false"),
    ('[access]\nteams = []\n', "[access] takes only"),
    ('[privacy]\nretention_days = 0\n', "privacy.retention_days must be a whole number of days"),
])
def test_bad_access_or_privacy_settings_stop_startup_naming_them(tmp_path, toml, message):
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)


def test_example_owner_and_source_tables_load_as_documented(tmp_path):
    """The commented [owners] and [sources.*] examples in leadbrief.example.toml, uncommented, are valid."""
    text = (ROOT / "leadbrief.example.toml").read_text()
    tail = text[text.index("# Rep names as CRM exports"):text.index("# Triage:")].splitlines()
    toml = [line[2:] for line in tail if re.match(r"^# (\[|[\w\"].* = )", line)]
    assert any(line.startswith("[sources.mautic]") for line in toml)
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text("\n".join(toml) + "\n")
    s = load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)
    assert s.owners["jose nunez"] == "jose@ourco.example"
    assert s.sources["mautic"].owners["jrep"] == "jane@ourco.example"
    assert s.sources["mautic"].message_fields == ("tell_us_more", "projektbeschreibung")
    assert s.sources["salesforce"].owners["005000000000001"] == "jane@ourco.example"
