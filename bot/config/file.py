"""leadbrief.toml: where it is, read once; each concern's loader takes its own section from it."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.settings import DEFAULT_CONFIG_FILE, ConfigError


@dataclass(frozen=True)
class ConfigFile:
    path: Path | None = None  # None: no file (every section takes its defaults)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """How error messages name the file."""
        return f"LEADBRIEF_CONFIG {self.path}"

    def section(self, name: str) -> Any:
        """The [name] table as TOML gave it ({} when absent); its loader checks its shape."""
        return self.data.get(name, {})


def locate(env: Mapping[str, str]) -> tuple[str | None, bool]:
    """The rules file to read and whether it must exist: LEADBRIEF_CONFIG, else ./leadbrief.toml when present."""
    path = env.get("LEADBRIEF_CONFIG", "").strip() or None
    if path is not None:
        return path, True
    return (DEFAULT_CONFIG_FILE, False) if Path(DEFAULT_CONFIG_FILE).is_file() else (None, False)


def read(path: str | None, *, required: bool) -> ConfigFile:
    if not path:
        return ConfigFile()
    p = Path(path).expanduser()
    if not p.is_file():
        if required:
            raise ConfigError(f"LEADBRIEF_CONFIG={path!r}: no such file (expected a leadbrief.toml)")
        return ConfigFile()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"LEADBRIEF_CONFIG {p}: not valid TOML ({exc})") from None
    return ConfigFile(path=p, data=data)
