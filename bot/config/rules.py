"""The rules (qualification, readiness, customers, briefs) from leadbrief.toml, through briefs.rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.config.file import ConfigFile
from bot.settings import ConfigError
from briefs.rules import Rules, RulesError


def load_rules(file: ConfigFile, other_sections: Iterable[str]) -> Rules:
    """other_sections: the tables the other concerns read, which the rules leave alone."""
    if file.path is None:
        return Rules()
    try:
        rules = Rules.from_mapping(file.data, extra_sections=tuple(other_sections))
    except RulesError as exc:
        raise ConfigError(f"{file.where}: {exc}") from None
    if rules.templates_dir:
        folder = (file.path.parent / rules.templates_dir).resolve()
        if not folder.is_dir():
            raise ConfigError(f"{file.where}: briefs.templates_dir {rules.templates_dir!r} is not a folder")
        rules = replace(rules, templates_dir=str(folder))
    return rules
