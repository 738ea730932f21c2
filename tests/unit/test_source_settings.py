"""Sources register themselves: their settings load from the environment and [sources.<name>], by their own
loaders, with the messages they always had; the OpenAPI document and the routes come from the same registry."""

import re

import pytest

from bot.config import ConfigError, Settings, load_settings
from handlers import openapi
from handlers.sources import discover, hubspot, marketo, mautic, salesforce, segment

SECRET = "a-secret-of-enough-length"


def load(tmp_path, toml: str | None = None, **env: str) -> Settings:
    if toml is not None:
        cfg = tmp_path / "leadbrief.toml"
        cfg.write_text(toml)
        env["LEADBRIEF_CONFIG"] = str(cfg)
    return load_settings(env, dotenv=False)


def test_every_source_module_is_found_with_its_settings_and_its_openapi_description():
    names = [source.name for source in discover()]
    assert names == ["hubspot", "marketo", "mautic", "salesforce", "segment"]
    assert all(source.config is not None and source.config.name == source.name for source in discover())
    paths = openapi.document()["paths"]
    assert set(paths) == {"/webhooks/events", *(f"/webhooks/{name}" for name in names)}
    assert paths["/webhooks/salesforce"]["post"]["requestBody"]["content"].keys() == {"text/xml"}
    assert set(paths["/webhooks/salesforce"]["post"]["responses"]) >= {"200", "404"}
    assert "202" in paths["/webhooks/segment"]["post"]["responses"]


def test_unconfigured_sources_have_their_defaults(tmp_path):
    s = load(tmp_path)
    assert set(s.sources) == {"hubspot", "marketo", "mautic", "salesforce", "segment"}
    assert segment.CONFIG.of(s) == segment.SegmentSettings()
    assert hubspot.CONFIG.of(s).api_url == "https://api.hubapi.com"
    # A Settings built by hand (tests, the demo) reads the defaults too.
    assert marketo.CONFIG.of(Settings()) == marketo.MarketoSettings()


def test_each_source_reads_its_environment(tmp_path):
    s = load(tmp_path, MAUTIC_WEBHOOK_SECRET=SECRET, SEGMENT_SHARED_SECRET=SECRET, SALESFORCE_WEBHOOK_SECRET=SECRET,
             SALESFORCE_ORGANIZATION_ID=" 00D5e000000AbCd ", SALESFORCE_INSTANCE_URL="https://acme.my.salesforce.com",
             HUBSPOT_CLIENT_SECRET="cs", HUBSPOT_ACCESS_TOKEN="pat-na1-x", HUBSPOT_API_URL="http://127.0.0.1:9/",
             MARKETO_WEBHOOK_SECRET=SECRET, MARKETO_BASE_URL="https://123-ABC-456.mktorest.com",
             MARKETO_CLIENT_ID="id", MARKETO_CLIENT_SECRET="secret")
    assert mautic.CONFIG.of(s).secret == SECRET and segment.CONFIG.of(s).secret == SECRET
    assert salesforce.CONFIG.of(s) == salesforce.SalesforceSettings(
        secret=SECRET, org_id="00D5e000000AbCd", instance_url="https://acme.my.salesforce.com")
    assert hubspot.CONFIG.of(s) == hubspot.HubSpotSettings("cs", "pat-na1-x", "http://127.0.0.1:9")
    assert marketo.CONFIG.of(s) == marketo.MarketoSettings(SECRET, "https://123-ABC-456.mktorest.com", "id", "secret")


def test_source_secrets_never_appear_in_repr(tmp_path):
    s = load(tmp_path, MAUTIC_WEBHOOK_SECRET="mautic-" + SECRET, HUBSPOT_ACCESS_TOKEN="pat-na1-hidden",
             MARKETO_CLIENT_SECRET="marketo-hidden")
    assert "mautic-" not in repr(s) and "pat-na1-hidden" not in repr(s) and "marketo-hidden" not in repr(s)


@pytest.mark.parametrize("name", ["MAUTIC_WEBHOOK_SECRET", "SEGMENT_SHARED_SECRET", "SALESFORCE_WEBHOOK_SECRET",
                                  "MARKETO_WEBHOOK_SECRET"])
def test_a_short_source_secret_stops_startup_naming_it(tmp_path, name):
    with pytest.raises(ConfigError, match=re.escape(f"{name} is too short (expected at least 16 characters)")):
        load(tmp_path, **{name: "short"})


def test_source_sections_of_the_rules_file(tmp_path):
    s = load(tmp_path, '[sources.segment]\nevents = { "Pricing Calculator Used" = "web_visit", "X" = "ignore" }\n'
                       '[sources.salesforce]\nowners = { " 0055e000001JaneAAA " = " Jane@OurCo.example " }\n')
    assert segment.CONFIG.of(s).events == {"Pricing Calculator Used": "web_visit", "X": "ignore"}
    assert salesforce.CONFIG.of(s).owners == {"0055e000001Jane": "jane@ourco.example"}


@pytest.mark.parametrize(("toml", "message"), [
    ('[sources.nosuch]\nsecret = "x"\n',
     "[sources] knows only [sources.hubspot] and [sources.mautic] and [sources.salesforce] and [sources.segment]"),
    ('[sources.salesforce]\ncustomer_fields = { renewal = "Renewal_Date__c" }\n',
     "sources.salesforce: customer_fields has renewal; expected some of renewal_date, arr, "),
    ('[sources.hubspot]\ncustomer_properties = { arr = "" }\n',
     "sources.hubspot: customer_properties must map our customer fields to the CRM's field names"),
    ('[sources.hubspot]\nowners = {}\n', "[sources.hubspot] takes only customer_properties = "),
    ('[sources.segment]\nmapping = {}\n', '[sources.segment] takes only events = {"Event Name" = "kind"}'),
    ('[sources.segment]\nevents = "Form Submitted"\n', '[sources.segment] takes only events = {"Event Name" = "kind"}'),
    ('[sources.segment]\nevents = { "Demo" = "demo" }\n', "sources.segment.events 'Demo' = 'demo': expected one of "),
    ('[sources.salesforce]\nusers = {}\n', '[sources.salesforce] takes only owners = {"005..." = "rep@company.com"}'),
    ('[sources.salesforce]\nowners = { "005" = "jane" }\n', "sources.salesforce.owners must map user ids to emails"),
])
def test_bad_source_sections_stop_startup_naming_them(tmp_path, toml, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load(tmp_path, toml)
    assert str(caught.value).startswith(f"LEADBRIEF_CONFIG {tmp_path / 'leadbrief.toml'}: ")


def test_configure_changes_one_source_and_keeps_the_rest():
    base = segment.CONFIG.configure(Settings(), secret=SECRET, events={"A": "web_visit"})
    changed = segment.CONFIG.configure(mautic.CONFIG.configure(base, secret=SECRET), events={})
    assert segment.CONFIG.of(changed) == segment.SegmentSettings(secret=SECRET, events={})
    assert mautic.CONFIG.of(changed).secret == SECRET
    assert segment.CONFIG.of(base).events == {"A": "web_visit"}  # settings are values: the first is unchanged


def test_the_openapi_document_says_how_each_source_refuses():
    paths = openapi.document()["paths"]
    salesforce = paths["/webhooks/salesforce"]["post"]["responses"]
    assert set(salesforce) >= {"200", "400", "401", "403", "404", "413", "503"}
    assert all(list(salesforce[s]["content"]) == ["text/xml"] for s in ("400", "401", "403", "503"))
    hubspot = paths["/webhooks/hubspot"]["post"]["responses"]
    assert "403" not in hubspot and list(hubspot["401"]["content"]) == ["application/json"]
    assert "skipped" in openapi.document()["components"]["schemas"]["Accepted"]["properties"]
