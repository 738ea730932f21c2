"""Each source's settings, loaded by the source itself (Source.config in handlers/sources/<name>.py)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.config.file import ConfigFile
from bot.settings import ConfigError
from handlers.sources import discover


def load_sources(env: Mapping[str, str], file: ConfigFile) -> dict[str, object]:
    configs = [source.config for source in discover() if source.config is not None]
    sections = file.section("sources") if file.path else {}
    with_section = [config.name for config in configs if config.takes_section]
    if not isinstance(sections, dict) or set(sections) - set(with_section):
        raise ConfigError(f"{file.where}: [sources] knows only "
                          f"{' and '.join(f'[sources.{name}]' for name in with_section)}")
    return {config.name: config.load(env, sections.get(config.name, {}), file.where) for config in configs}
