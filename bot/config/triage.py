"""[triage]: who is not paged (do not contact, not a buyer, machine opens), by which rules, and where notices go.

Every key is optional; docs/triage.md lists them with their defaults. Unknown keys, in [triage] or in any of its
tables, are errors."""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.config.file import ConfigFile
from bot.settings import ConfigError, TriageSettings
from briefs.triage import RULE_IDS, Category, Destination, TriagePolicy

# Keys of [triage] itself, and of each of its tables.
TOP = ("enabled", "disabled_rules", "marketing_ops_channel", "suppression_grace_hours")
TABLES: dict[str, tuple[str, ...]] = {
    "destinations": tuple(Destination),
    "routes": tuple(Category),
    "machine_opens": ("seconds_after_delivery", "proxy_networks", "proxy_user_agents"),
    "competitors": ("names", "domains", "from_comparison_pages", "own_names"),
    "phrases": ("do_not_contact", "job", "vendor"),
    "addresses": ("free_mail_domains", "not_free_mail_domains", "role_inboxes", "academic_domains"),
    "careers": ("paths", "min_views"),
    "crm": ("do_not_contact_fields", "email_opt_out_fields"),
}


class _Reader:
    def __init__(self, file: ConfigFile):
        self.where = file.where

    def fail(self, key: str, expected: str, got: Any) -> ConfigError:
        return ConfigError(f"{self.where}: triage.{key} must be {expected} (got {got!r})")

    def table(self, section: dict[str, Any], name: str) -> dict[str, Any]:
        table = section.get(name, {})
        known = TABLES[name]
        if not isinstance(table, dict):
            raise ConfigError(f"{self.where}: triage.{name} must be a table like [triage.{name}]")
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ConfigError(f"{self.where}: triage.{name}.{unknown[0]} is not a known setting "
                              f"(expected one of {', '.join(known)})")
        return table

    def flag(self, table: dict[str, Any], key: str, where: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(where, "true or false", value)
        return value

    def words(self, table: dict[str, Any], key: str, where: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = table.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, "a list of non-empty strings", value)
        return tuple(v.strip() for v in value)

    def domains(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        found = tuple(d.lower().lstrip("@").strip(".") for d in self.words(table, key, where))
        bad = next((d for d in found if "." not in d or "/" in d or " " in d or "@" in d), None)
        if bad is not None:
            raise self.fail(where, "a list of domains such as rival.example", bad)
        return found

    def number(self, table: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float,
               whole: bool = False) -> float:
        value = table.get(key, default)
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not lo <= value <= hi:
            what = "a whole number" if whole else "a number"
            raise self.fail(where, f"{what} from {lo:g} to {hi:g}", value)
        return value

    def slack_id(self, value: Any, where: str, prefixes: tuple[str, ...]) -> str:
        if not isinstance(value, str) or not value.strip().startswith(prefixes) or " " in value.strip():
            raise self.fail(where, f"a Slack id starting with {' or '.join(prefixes)}", value)
        return value.strip()


def load_triage(file: ConfigFile) -> TriageSettings:
    if file.path is None:
        return TriageSettings()
    r = _Reader(file)
    section = file.section("triage")
    if not isinstance(section, dict):
        raise ConfigError(f"{file.where}: triage must be a table like [triage]")
    unknown = sorted(set(section) - set(TOP) - set(TABLES))
    if unknown:
        raise ConfigError(f"{file.where}: triage.{unknown[0]} is not a known setting "
                          f"(expected one of {', '.join((*TOP, *TABLES))})")

    disabled = r.words(section, "disabled_rules", "disabled_rules")
    wrong = next((rule for rule in disabled if rule not in RULE_IDS), None)
    if wrong is not None:
        raise r.fail("disabled_rules", f"a list of rule ids ({', '.join(sorted(RULE_IDS))})", wrong)
    ops = section.get("marketing_ops_channel")
    marketing_ops = r.slack_id(ops, "marketing_ops_channel", ("C", "G")) if ops is not None else None

    destinations = {
        name: r.slack_id(value, f"destinations.{name}", ("C", "G", "U", "W"))
        for name, value in r.table(section, "destinations").items()
    }
    routes: dict[str, Destination] = {}
    for category, value in r.table(section, "routes").items():
        if value not in tuple(Destination):
            raise r.fail(f"routes.{category}", f"one of {', '.join(Destination)}", value)
        routes[category] = Destination(value)

    machine = r.table(section, "machine_opens")
    networks = r.words(machine, "proxy_networks", "machine_opens.proxy_networks",
                       TriagePolicy().proxy_networks)
    for net in networks:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise r.fail("machine_opens.proxy_networks", "a list of IP networks such as 17.0.0.0/8", net) from None
    competitors = r.table(section, "competitors")
    phrases = r.table(section, "phrases")
    addresses = r.table(section, "addresses")
    careers = r.table(section, "careers")
    crm = r.table(section, "crm")
    default = TriagePolicy()
    policy = TriagePolicy(
        enabled=r.flag(section, "enabled", "enabled", True),
        disabled_rules=frozenset(disabled),
        machine_open_seconds=float(r.number(machine, "seconds_after_delivery", "machine_opens.seconds_after_delivery",
                                            default.machine_open_seconds, 0, 3600)),
        proxy_networks=networks,
        proxy_user_agents=r.words(machine, "proxy_user_agents", "machine_opens.proxy_user_agents",
                                  default.proxy_user_agents),
        competitor_names=r.words(competitors, "names", "competitors.names"),
        competitor_domains=r.domains(competitors, "domains", "competitors.domains"),
        competitors_from_comparison_pages=r.flag(competitors, "from_comparison_pages",
                                                 "competitors.from_comparison_pages", True),
        own_names=r.words(competitors, "own_names", "competitors.own_names"),
        do_not_contact_phrases=r.words(phrases, "do_not_contact", "phrases.do_not_contact"),
        job_phrases=r.words(phrases, "job", "phrases.job"),
        vendor_phrases=r.words(phrases, "vendor", "phrases.vendor"),
        free_mail_domains=r.domains(addresses, "free_mail_domains", "addresses.free_mail_domains"),
        not_free_mail_domains=r.domains(addresses, "not_free_mail_domains", "addresses.not_free_mail_domains"),
        role_inboxes=tuple(v.lower().rstrip("@") for v in r.words(addresses, "role_inboxes", "addresses.role_inboxes")),
        academic_domains=r.domains(addresses, "academic_domains", "addresses.academic_domains"),
        careers_paths=r.words(careers, "paths", "careers.paths"),
        careers_min_views=int(r.number(careers, "min_views", "careers.min_views", default.careers_min_views, 1, 1000,
                                       whole=True)),
        crm_do_not_contact_fields=r.words(crm, "do_not_contact_fields", "crm.do_not_contact_fields",
                                          default.crm_do_not_contact_fields),
        crm_email_opt_out_fields=r.words(crm, "email_opt_out_fields", "crm.email_opt_out_fields",
                                         default.crm_email_opt_out_fields),
        suppression_grace_hours=float(r.number(section, "suppression_grace_hours", "suppression_grace_hours",
                                               default.suppression_grace_hours, 0, 24 * 30)),
        student_destination=routes.get(Category.STUDENT_OR_JOBSEEKER, default.student_destination),
        vendor_destination=routes.get(Category.VENDOR_PITCH, default.vendor_destination),
        competitor_destination=routes.get(Category.COMPETITOR, default.competitor_destination),
    )
    return TriageSettings(policy=policy, marketing_ops_channel=marketing_ops, destinations=destinations)
