"""[owners] in leadbrief.toml: rep names as exports write them -> emails, for `leadbrief import`."""

import re

import pytest

from bot.config import ConfigError, load_settings


def load(tmp_path, toml: str):
    cfg = tmp_path / "leadbrief.toml"
    cfg.write_text(toml, encoding="utf-8")
    return load_settings({"LEADBRIEF_CONFIG": str(cfg)}, dotenv=False)


def test_names_are_folded_and_emails_lowercased(tmp_path):
    s = load(tmp_path, '[owners]\n"Inès  Moreau" = " Ines@OurCo.example "\n"O\'Brien, Siobhán" = "sb@ourco.example"\n')
    assert s.owners == {"ines moreau": "ines@ourco.example", "o brien siobhan": "sb@ourco.example"}


def test_without_the_table_there_are_no_owners(tmp_path):
    assert load(tmp_path, "[privacy]\nretention_days = 30\n").owners == {}


@pytest.mark.parametrize(("toml", "message"), [
    ('[owners]\n"Jane Rep" = "Jane"\n', "owners.'Jane Rep' must be an email address (expected name@domain)"),
    ('[owners]\n"Jane Rep" = 5\n', "owners.'Jane Rep' must be an email address"),
    ('owners = "jane@ourco.example"\n', "[owners] must map names to emails"),
    ('[owners]\n"--" = "jane@ourco.example"\n', "[owners] has an empty name"),
])
def test_a_bad_table_stops_startup_naming_it(tmp_path, toml, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, toml)
