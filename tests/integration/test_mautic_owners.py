"""A Mautic contact's owner (id, username, names; no email) resolved to an email: the admin's mapping, or
Mautic's users API (fake, on loopback), cached; a failing API never costs the delivery."""

import base64
import copy
import json
import logging
from pathlib import Path

import pytest

from bot.settings import Settings
from handlers.sources import mautic
from tests.support.fake_mautic import FakeMautic

VENDOR = Path(__file__).parent.parent / "fixtures" / "mautic" / "vendor"


def contact_saved(owner: dict | None = None, items: int = 1) -> bytes:
    item = json.loads((VENDOR / "lead_post_save_new.json").read_text(encoding="utf-8"))[0]
    if owner is not None:
        item["contact"]["owner"] = owner
    more = []
    for n in range(1, items):
        other = copy.deepcopy(item)
        other["contact"]["id"] = 52 + n
        other["contact"]["fields"]["core"]["email"]["value"] = f"contact{n}@example.com"
        more.append(other)
    return json.dumps({"mautic.lead_post_save_new": [item, *more]}).encode()


def owners_of(body: bytes, settings: Settings) -> list:
    return [e.lead.owner_email for e in mautic.translate(body, None, settings).events]


@pytest.fixture(autouse=True)
def empty_cache():
    mautic.forget_owners()
    yield
    mautic.forget_owners()


SAMPLE_OWNER = {"createdByUser": None, "modifiedByUser": None, "id": 1, "username": "admin",
                "firstName": "Jane", "lastName": "Rep"}


@pytest.mark.parametrize("mapping", [{"1": "jane@ourco.example"}, {"admin": "jane@ourco.example"},
                                     {"jane rep": "jane@ourco.example"}])
def test_the_admins_mapping_by_id_username_or_name(mapping):
    settings = mautic.CONFIG.configure(Settings(), owners=mapping)
    assert owners_of(contact_saved(SAMPLE_OWNER), settings) == ["jane@ourco.example"]


def test_the_shared_owners_table_finds_a_mautic_owner_by_name_after_the_sources_own_mapping():
    from dataclasses import replace

    settings = replace(Settings(), owners={"jane rep": "jane@ourco.example"})
    accented = {**SAMPLE_OWNER, "id": 7, "username": "jnunez", "firstName": "José", "lastName": "Núñez"}
    assert owners_of(contact_saved(SAMPLE_OWNER), settings) == ["jane@ourco.example"]
    assert owners_of(contact_saved(accented), replace(settings, owners={"jose nunez": "jose@ourco.example"})) == [
        "jose@ourco.example"]
    own = mautic.CONFIG.configure(settings, owners={"admin": "omar@ourco.example"})
    assert owners_of(contact_saved(SAMPLE_OWNER), own) == ["omar@ourco.example"]


def test_without_mapping_or_api_there_is_no_owner_and_an_email_in_the_payload_wins():
    assert owners_of(contact_saved(SAMPLE_OWNER), Settings()) == [None]
    settings = mautic.CONFIG.configure(Settings(), owners={"1": "omar@ourco.example"})
    with_email = {**SAMPLE_OWNER, "email": "Jane@OurCo.example"}
    assert owners_of(contact_saved(with_email), settings) == ["jane@ourco.example"]


def test_the_users_api_with_basic_auth_is_asked_once_and_cached():
    with FakeMautic(username="api", password="pw-123") as api:
        api.add_user(1, "jane@ourco.example", username="admin", first="Jane", last="Rep")
        settings = mautic.CONFIG.configure(Settings(), base_url=api.url, api_username="api", api_password="pw-123")
        assert owners_of(contact_saved(SAMPLE_OWNER, items=3), settings) == ["jane@ourco.example"] * 3
        assert owners_of(contact_saved(SAMPLE_OWNER), settings) == ["jane@ourco.example"]
        assert [c["path"] for c in api.calls] == ["/api/users/1"]
        assert api.calls[0]["authorization"] == "Basic " + base64.b64encode(b"api:pw-123").decode()


def test_the_users_api_with_an_oauth2_token_and_the_mapping_first():
    with FakeMautic(token="tok-abc") as api:
        api.add_user(7, "omar@ourco.example", username="omar", first="Omar", last="Rep")
        settings = mautic.CONFIG.configure(Settings(), base_url=api.url, access_token="tok-abc",
                                           owners={"admin": "jane@ourco.example"})
        assert owners_of(contact_saved(SAMPLE_OWNER), settings) == ["jane@ourco.example"]
        assert api.calls == []  # mapped: the API is not asked
        omar = {"id": 7, "username": "omar", "firstName": "Omar", "lastName": "Rep"}
        assert owners_of(contact_saved(omar), settings) == ["omar@ourco.example"]
        assert api.calls[-1]["authorization"] == "Bearer tok-abc"


@pytest.mark.parametrize(("script", "message"), [
    ("refused", "answered HTTP 401 (check MAUTIC_API_USERNAME/MAUTIC_API_PASSWORD or MAUTIC_ACCESS_TOKEN"),
    ("error", "answered HTTP 500"),
    ("down", "unreachable (ConnectError)"),
])
def test_a_failing_api_leaves_the_lead_without_owner_and_logs_why(script, message, caplog):
    caplog.set_level(logging.WARNING, "leadbrief.mautic")
    with FakeMautic(username="api", password="right-password") as api:
        api.add_user(1, "jane@ourco.example", username="admin", first="Jane", last="Rep")
        url = api.url
        password = "wrong-password" if script == "refused" else "right-password"
        if script == "error":
            api.fail(500)
        settings = mautic.CONFIG.configure(Settings(), base_url=url, api_username="api", api_password=password)
        if script != "down":
            assert owners_of(contact_saved(SAMPLE_OWNER, items=2), settings) == [None, None]
            assert len(api.calls) == 1  # one try per delivery, not one per item
    if script == "down":
        assert owners_of(contact_saved(SAMPLE_OWNER), settings) == [None]
    assert message in caplog.text
    assert "password" not in caplog.text.replace("MAUTIC_API_PASSWORD", "")
    if script == "error":  # a failure is not cached: the next delivery asks again
        with FakeMautic(username="api", password="right-password") as api:
            api.add_user(1, "jane@ourco.example", username="admin", first="Jane", last="Rep")
            settings = mautic.CONFIG.configure(settings, base_url=api.url)
            assert owners_of(contact_saved(SAMPLE_OWNER), settings) == ["jane@ourco.example"]


def test_an_unknown_user_or_one_without_email_is_no_owner_and_remembered():
    with FakeMautic(token="t") as api:
        api.add_user(2, None, username="noemail", first="No", last="Email")
        settings = mautic.CONFIG.configure(Settings(), base_url=api.url, access_token="t")
        assert owners_of(contact_saved({"id": 99, "username": "ghost"}), settings) == [None]
        assert owners_of(contact_saved({"id": 2, "username": "noemail"}), settings) == [None]
        assert owners_of(contact_saved({"id": 99, "username": "ghost"}), settings) == [None]
        assert [c["path"] for c in api.calls] == ["/api/users/99", "/api/users/2"]
