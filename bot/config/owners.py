"""[owners]: rep names as CRM exports write them -> their email, for `leadbrief import` (HubSpot "Contact owner",
Salesforce "Lead Owner", Account Engagement "Assigned User" hold a name, not an email)."""

from __future__ import annotations

from bot.config.file import ConfigFile
from bot.settings import ConfigError
from briefs.events import EMAIL_RE
from briefs.signals import fold


def load_owners(file: ConfigFile) -> dict[str, str]:
    """Folded name (lowercase, accents and punctuation dropped) -> lowercased email."""
    if file.path is None:
        return {}
    section = file.section("owners")
    if not isinstance(section, dict):
        raise ConfigError(f'{file.where}: [owners] must map names to emails, e.g. "Jane Rep" = "jane@ourco.example"')
    owners: dict[str, str] = {}
    for name, email in section.items():
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            raise ConfigError(f"{file.where}: owners.{name!r} must be an email address (expected name@domain)")
        if not fold(name):
            raise ConfigError(f"{file.where}: [owners] has an empty name")
        owners[fold(name)] = email.strip().lower()
    return owners
