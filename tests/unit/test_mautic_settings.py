"""[sources.mautic] and the Mautic API variables: owners mapped by id, username or name; which form fields are
the lead's message; a bad section stops startup naming the key."""

import re

import pytest

from bot.config import ConfigError, load_settings
from handlers.sources import mautic


def load(tmp_path, toml: str | None = None, **env: str):
    if toml is not None:
        cfg = tmp_path / "leadbrief.toml"
        cfg.write_text(toml, encoding="utf-8")
        env["LEADBRIEF_CONFIG"] = str(cfg)
    return mautic.CONFIG.of(load_settings(env, dotenv=False))


def test_owners_message_fields_and_api_credentials(tmp_path):
    config = load(tmp_path, '[sources.mautic]\n'
                            'owners = { "1" = " Jane@OurCo.example ", "omar.k" = "omar@ourco.example", '
                            '"  Mia   Marketing " = "mia@ourco.example" }\n'
                            'message_fields = [" Tell_Us_More ", "projektbeschreibung"]\n'
                            'long_text_chars = 0\n',
                  MAUTIC_BASE_URL="https://mautic.ourco.example/api/", MAUTIC_API_USERNAME="leadbrief",
                  MAUTIC_API_PASSWORD="pw-1234")
    assert config.owners == {"1": "jane@ourco.example", "omar.k": "omar@ourco.example",
                             "mia marketing": "mia@ourco.example"}
    assert config.message_fields == ("tell_us_more", "projektbeschreibung")
    assert config.long_text_chars == 0
    assert config.base_url == "https://mautic.ourco.example"
    assert config.api_enabled
    assert "pw-1234" not in repr(config)


def test_defaults_need_no_section_and_the_api_needs_credentials(tmp_path):
    config = load(tmp_path, MAUTIC_BASE_URL="https://mautic.ourco.example")
    assert (config.owners, config.message_fields, config.long_text_chars) == ({}, (), mautic.LONG_TEXT_CHARS)
    assert not config.api_enabled
    assert load(tmp_path, MAUTIC_BASE_URL="https://m.example", MAUTIC_ACCESS_TOKEN="tok").api_enabled


@pytest.mark.parametrize(("toml", "message"), [
    ('[sources.mautic]\nsecret = "x"\n', "[sources.mautic] takes only owners = "),
    ('[sources.mautic]\nowners = { "1" = "jane" }\n', "sources.mautic.owners must map owner ids, usernames"),
    ('[sources.mautic]\nowners = ["jane@ourco.example"]\n', "sources.mautic.owners must map owner ids"),
    ('[sources.mautic]\nmessage_fields = "message"\n', "sources.mautic.message_fields must be a list"),
    ('[sources.mautic]\nlong_text_chars = -1\n', "sources.mautic.long_text_chars must be a whole number"),
])
def test_a_bad_section_stops_startup_naming_the_key(tmp_path, toml, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, toml)
