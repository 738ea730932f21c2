"""[accounts]: accounts and buying committees (issue 18, docs/accounts.md)."""

from __future__ import annotations

from typing import Any

from bot.config.file import ConfigFile
from bot.settings import ConfigError
from briefs.accounts import DEFAULT_POLICY, AccountPolicy, OwnerRule, SurgeRule, registrable_domain

KEYS = {"enabled", "window_days", "owner_rule", "surge_people", "surge_days", "surge", "domains"}


def _int(where: str, name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: accounts.{name} must be a whole number from {low} to {high}")
    return value


def load_accounts(file: ConfigFile) -> AccountPolicy:
    if file.path is None:
        return DEFAULT_POLICY
    section = file.section("accounts")
    if not section:
        return DEFAULT_POLICY
    if not isinstance(section, dict):
        raise ConfigError(f"{file.where}: [accounts] must be a table")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise ConfigError(f"{file.where}: [accounts] has unknown keys: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(KEYS))})")
    where = file.where
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: accounts.enabled must be true or false")
    rule_name = section.get("owner_rule", DEFAULT_POLICY.owner_rule.value)
    if rule_name not in {r.value for r in OwnerRule}:
        raise ConfigError(f"{where}: accounts.owner_rule must be one of {', '.join(r.value for r in OwnerRule)}")
    surge_on = section.get("surge", True)
    if not isinstance(surge_on, bool):
        raise ConfigError(f"{where}: accounts.surge must be true or false")
    domains_in = section.get("domains", {})
    if not isinstance(domains_in, dict):
        raise ConfigError(f'{where}: accounts.domains must map an account name to its domains, '
                          f'e.g. Contoso = ["contoso.com", "contoso.co.uk"]')
    domains: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    for name, listed in domains_in.items():
        if not isinstance(listed, list) or not listed or not all(isinstance(d, str) for d in listed):
            raise ConfigError(f"{where}: accounts.domains.{name!r} must be a list of domains")
        group = []
        for raw in listed:
            domain = registrable_domain(raw)
            if not domain:
                raise ConfigError(f"{where}: accounts.domains.{name!r}: {raw!r} is not a domain")
            if domain in seen:
                raise ConfigError(f"{where}: accounts.domains: {domain} is listed twice")
            seen.add(domain)
            group.append(domain)
        domains[str(name)] = tuple(group)
    return AccountPolicy(
        enabled=enabled,
        window_days=_int(where, "window_days", section.get("window_days", DEFAULT_POLICY.window_days), 1, 365),
        owner_rule=OwnerRule(rule_name),
        surge=SurgeRule(people=_int(where, "surge_people", section.get("surge_people", 3), 2, 1000),
                        days=_int(where, "surge_days", section.get("surge_days", 7), 1, 90), enabled=surge_on),
        domains=domains,
    )
