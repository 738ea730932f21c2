"""[triage] in leadbrief.toml: safe defaults, every setting read, and every mistake named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.config.file import ConfigFile
from bot.config.triage import load_triage
from bot.settings import ConfigError, TriageSettings
from briefs.triage import DEFAULT_POLICY, Destination, Rule, TriagePolicy

FILE = Path("/etc/leadbrief.toml")


def toml(**sections) -> ConfigFile:
    return ConfigFile(path=FILE, data=sections)


def test_without_a_file_or_a_section_triage_runs_with_its_defaults():
    assert load_triage(ConfigFile()) == TriageSettings()
    settings = load_triage(toml())
    assert settings == TriageSettings() and settings.policy == DEFAULT_POLICY
    policy = settings.policy
    assert (policy.enabled, policy.machine_open_seconds, policy.proxy_networks, policy.proxy_user_agents) == (
        True, 5.0, ("17.0.0.0/8",), ("mozilla/5.0",))
    assert (policy.student_destination, policy.vendor_destination, policy.competitor_destination) == (
        Destination.CAREERS, Destination.PARTNERSHIPS, Destination.MARKETING)
    assert policy.crm_do_not_contact_fields == ("do_not_contact", "DoNotCall")
    assert policy.crm_email_opt_out_fields == ("email_opt_out", "hs_email_optout", "HasOptedOutOfEmail", "unsubscribed")
    assert policy.competitors_from_comparison_pages and policy.suppression_grace_hours == 0


def test_every_setting_is_read(tmp_path):
    path = tmp_path / "leadbrief.toml"
    path.write_text("""
[triage]
enabled = true
disabled_rules = ["student_or_jobseeker.careers_pages", "flag.role_inbox"]
marketing_ops_channel = "C0MOPS"
suppression_grace_hours = 48

[triage.destinations]
careers = "C0CAREERS"
partnerships = "C0PARTNERS"
marketing = "C0MKT"
manager = "U0BOSS"

[triage.routes]
competitor = "manager"
vendor_pitch = "marketing"

[triage.machine_opens]
seconds_after_delivery = 10
proxy_networks = ["17.0.0.0/8", "2a02:26f7:b3c0:4000::/64"]
proxy_user_agents = ["Mozilla/5.0", "YahooMailProxy"]

[triage.competitors]
names = ["LeadZap", "Pipeflow"]
domains = ["@leadzap.example", "pipeflow.example."]
from_comparison_pages = false
own_names = ["OurCo"]

[triage.phrases]
do_not_contact = ["kein Interesse"]
job = ["Ausbildung"]
vendor = ["we are a reseller"]

[triage.addresses]
free_mail_domains = ["family-mail.example"]
not_free_mail_domains = ["att.net"]
role_inboxes = ["Bestellungen@"]
academic_domains = ["campus.example"]

[triage.careers]
paths = ["/arbeiten-bei-uns"]
min_views = 3

[triage.crm]
do_not_contact_fields = ["Do_Not_Contact__c"]
email_opt_out_fields = []
""", encoding="utf-8")
    settings = load_settings({"LEADBRIEF_CONFIG": str(path)}, dotenv=False).triage
    assert settings.marketing_ops_channel == "C0MOPS"
    assert settings.destinations == {"careers": "C0CAREERS", "partnerships": "C0PARTNERS", "marketing": "C0MKT",
                                     "manager": "U0BOSS"}
    assert settings.policy == TriagePolicy(
        enabled=True,
        disabled_rules=frozenset({Rule.STUDENT_CAREERS_PAGES, Rule.FLAG_ROLE_INBOX}),
        machine_open_seconds=10.0,
        proxy_networks=("17.0.0.0/8", "2a02:26f7:b3c0:4000::/64"),
        proxy_user_agents=("Mozilla/5.0", "YahooMailProxy"),
        competitor_names=("LeadZap", "Pipeflow"),
        competitor_domains=("leadzap.example", "pipeflow.example"),
        competitors_from_comparison_pages=False,
        own_names=("OurCo",),
        do_not_contact_phrases=("kein Interesse",),
        job_phrases=("Ausbildung",),
        vendor_phrases=("we are a reseller",),
        free_mail_domains=("family-mail.example",),
        not_free_mail_domains=("att.net",),
        role_inboxes=("bestellungen",),
        academic_domains=("campus.example",),
        careers_paths=("/arbeiten-bei-uns",),
        careers_min_views=3,
        crm_do_not_contact_fields=("Do_Not_Contact__c",),
        crm_email_opt_out_fields=(),
        suppression_grace_hours=48.0,
        student_destination=Destination.CAREERS,
        vendor_destination=Destination.MARKETING,
        competitor_destination=Destination.MANAGER,
    )


def test_notices_fall_back_to_marketing_ops_then_to_the_leads_channel():
    settings = TriageSettings(marketing_ops_channel="C0MOPS", destinations={"careers": "C0CAREERS"})
    assert settings.channel_for(Destination.CAREERS, "C0LEADS") == "C0CAREERS"
    assert settings.channel_for(Destination.PARTNERSHIPS, "C0LEADS") == "C0MOPS"
    assert settings.channel_for(None, "C0LEADS") == "C0MOPS"
    assert TriageSettings().channel_for(Destination.MANAGER, "C0LEADS") == "C0LEADS"


@pytest.mark.parametrize(("section", "message"), [
    ({"triage": "on"}, "triage must be a table like [triage]"),
    ({"triage": {"enable": True}}, "triage.enable is not a known setting (expected one of enabled, disabled_rules, "),
    ({"triage": {"enabled": "yes"}}, "triage.enabled must be true or false (got 'yes')"),
    ({"triage": {"disabled_rules": ["student"]}}, "triage.disabled_rules must be a list of rule ids ("),
    ({"triage": {"disabled_rules": "flag.free_mail"}}, "triage.disabled_rules must be a list of non-empty strings"),
    ({"triage": {"marketing_ops_channel": "#marketing-ops"}},
     "triage.marketing_ops_channel must be a Slack id starting with C or G (got '#marketing-ops')"),
    ({"triage": {"marketing_ops_channel": "U0BOSS"}}, "triage.marketing_ops_channel must be a Slack id starting with C"),
    ({"triage": {"suppression_grace_hours": -1}}, "triage.suppression_grace_hours must be a number from 0 to 720"),
    ({"triage": {"destinations": {"sales": "C0SALES"}}},
     "triage.destinations.sales is not a known setting (expected one of careers, partnerships, marketing, manager)"),
    ({"triage": {"destinations": {"careers": "careers-channel"}}},
     "triage.destinations.careers must be a Slack id starting with C or G or U or W"),
    ({"triage": {"destinations": []}}, "triage.destinations must be a table like [triage.destinations]"),
    ({"triage": {"routes": {"competitor": "sales"}}},
     "triage.routes.competitor must be one of careers, partnerships, marketing, manager (got 'sales')"),
    ({"triage": {"routes": {"students": "careers"}}}, "triage.routes.students is not a known setting (expected one of "
                                                      "student_or_jobseeker, vendor_pitch, competitor)"),
    ({"triage": {"machine_opens": {"seconds": 5}}}, "triage.machine_opens.seconds is not a known setting"),
    ({"triage": {"machine_opens": {"seconds_after_delivery": True}}},
     "triage.machine_opens.seconds_after_delivery must be a number from 0 to 3600 (got True)"),
    ({"triage": {"machine_opens": {"proxy_networks": ["17.0.0.0/33"]}}},
     "triage.machine_opens.proxy_networks must be a list of IP networks such as 17.0.0.0/8 (got '17.0.0.0/33')"),
    ({"triage": {"competitors": {"domains": ["https://leadzap.example/"]}}},
     "triage.competitors.domains must be a list of domains such as rival.example"),
    ({"triage": {"competitors": {"names": ["LeadZap", ""]}}}, "triage.competitors.names must be a list of non-empty"),
    ({"triage": {"competitors": {"from_comparison_pages": 1}}}, "triage.competitors.from_comparison_pages must be "
                                                                "true or false"),
    ({"triage": {"phrases": {"unsubscribe": ["stop"]}}}, "triage.phrases.unsubscribe is not a known setting "
                                                         "(expected one of do_not_contact, job, vendor)"),
    ({"triage": {"addresses": {"free_mail_domains": ["gmail"]}}}, "triage.addresses.free_mail_domains must be a list "
                                                                  "of domains"),
    ({"triage": {"careers": {"min_views": 0}}}, "triage.careers.min_views must be a whole number from 1 to 1000"),
    ({"triage": {"careers": {"min_views": 2.5}}}, "triage.careers.min_views must be a whole number from 1 to 1000"),
    ({"triage": {"crm": {"dnc_fields": []}}}, "triage.crm.dnc_fields is not a known setting"),
])
def test_mistakes_are_named(section, message):
    with pytest.raises(ConfigError, match=re.escape(f"LEADBRIEF_CONFIG {FILE}: {message}")):
        load_triage(toml(**section))


def test_triage_is_a_known_section_for_the_rules_and_a_typo_still_is_not(tmp_path):
    path = tmp_path / "leadbrief.toml"
    path.write_text('[triage]\nmarketing_ops_channel = "C0MOPS"\n', encoding="utf-8")
    assert load_settings({"LEADBRIEF_CONFIG": str(path)}, dotenv=False).triage.marketing_ops_channel == "C0MOPS"
    path.write_text('[triag]\nmarketing_ops_channel = "C0MOPS"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape("unknown section [triag]")):
        load_settings({"LEADBRIEF_CONFIG": str(path)}, dotenv=False)


def test_the_example_config_loads_with_triage_defaults():
    example = Path(__file__).resolve().parents[2] / "leadbrief.example.toml"
    settings = load_settings({"LEADBRIEF_CONFIG": str(example)}, dotenv=False)
    assert settings.triage == TriageSettings()
