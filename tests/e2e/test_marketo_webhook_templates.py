"""POST /webhooks/marketo with bodies rendered from our template (tests/fixtures/marketo/webhook_template.txt,
the one docs/sources.md tells admins to paste) the way Marketo's Webhooks docs say Marketo renders tokens:
string tokens are enclosed in double quotes, and with Request Token Encoding JSON their values are JSON-escaped;
number tokens stand bare. Marketo signs nothing: the admin's custom header carries our secret."""

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.sources import marketo
from storage.models import Activity, Lead
from storage.queries import find_lead
from tests.support.live import LiveServer

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "marketo" / "webhook_template.txt").read_text(encoding="utf-8")
SECRET = "marketo-webhook-secret-0123456789"
NUMBER_TOKENS = {"campaign.Id", "lead.Id", "lead.Lead Score"}
COMMENTS = 'We have 3 plants and "legacy" SCADA;\nneed pricing for ~120 seats & SSO.\\ <b>Danke</b>, Zoë'


def tokens(now: datetime, **changes) -> dict:
    local = now.astimezone(timezone(timedelta(hours=-8)))  # an instance in UTC-8
    values = {
        "campaign.Id": "1042", "lead.Id": "318877", "system.dateTime": local.strftime("%Y-%m-%d %H:%M:%S"),
        "system.time": local.strftime("%I:%M %p (GMT -0800)"), "lead.Email Address": "Dana.Kim@Umbrella.example",
        "lead.First Name": "Dana", "lead.Last Name": "Kim", "lead.Job Title": "Head of Plant Operations",
        "company.Company Name": "Umbrella Manufacturing & Co.", "lead.Phone Number": "+1 415 555 0142",
        "lead.Lead Score": "45", "lead.Lead Owner Email Address": "jane@ourco.example", "lead.Lead Status": "MQL",
        "trigger.Name": "Contact Sales", "trigger.Trigger Name": "Fills Out Form",
        "campaign.Name": "Contact Sales - Route to Leadbrief", "lead.Comments": COMMENTS,
    }
    values.update(changes)
    return values


def render(values: dict, template: str = TEMPLATE, encoding: str = "JSON") -> bytes:
    """As Marketo renders a webhook body: string tokens quoted (and JSON-escaped with JSON encoding), number
    tokens bare (empty when blank)."""
    def token(match: re.Match) -> str:
        name = match.group(1).split(":default=")[0]
        value = values.get(name, "")
        if not value and ":default=" in match.group(1):
            value = match.group(1).split(":default=")[1]
        if name in NUMBER_TOKENS:
            return value
        if encoding == "JSON":
            return json.dumps(value, ensure_ascii=False)
        return f'"{value}"'  # encoding None: the value as it is
    return re.sub(r"\{\{([^}]+)\}\}", token, template).encode()


def post(http, server, body: bytes):
    return http.post(f"{server.url}/webhooks/marketo", content=body,
                     headers={"Content-Type": "application/json", marketo.AUTH_HEADER: SECRET})


@pytest.fixture
def server(settings):
    with LiveServer(marketo.CONFIG.configure(settings, webhook_secret=SECRET)) as s:
        yield s


def test_quotes_newlines_and_markup_in_a_token_arrive_as_the_lead_wrote_them(http, server):
    r = post(http, server, render(tokens(datetime.now(UTC) - timedelta(minutes=2))))
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "qualified": 1}
    with server.services.sessions() as s:
        form = s.scalars(select(Activity)).one()
        assert form.comments == COMMENTS
        lead = find_lead(s, "dana.kim@umbrella.example")
        assert (lead.company, lead.score, lead.lifecycle_stage) == ("Umbrella Manufacturing & Co.", 45, "mql")


def test_empty_string_tokens_render_as_empty_strings_and_never_blank_a_field(http, server):
    now = datetime.now(UTC)
    assert post(http, server, render(tokens(now - timedelta(minutes=5)))).status_code == 202
    sparse = tokens(now - timedelta(minutes=1), **{"lead.Job Title": "", "lead.Phone Number": "",
                                                     "lead.Comments": "", "lead.Lead Status": ""})
    body = render(sparse)
    assert b'"title": ""' in body  # what Marketo sends for a string token with no value
    r = post(http, server, body)
    assert r.status_code == 202 and r.json()["accepted"] == 2
    with server.services.sessions() as s:
        lead = find_lead(s, "dana.kim@umbrella.example")
        assert (lead.title, lead.phone, lead.lifecycle_stage) == ("Head of Plant Operations", "+1 415 555 0142",
                                                                  "mql")
        latest = s.scalars(select(Activity).order_by(Activity.occurred_at.desc())).first()
        assert latest.comments is None


def test_a_blank_number_token_breaks_the_json_and_the_400_says_to_give_it_a_default(http, server):
    body = render(tokens(datetime.now(UTC), **{"lead.Lead Score": ""}))
    assert b'"score": ,' in body
    r = post(http, server, body)
    assert r.status_code == 400
    assert "{{lead.Lead Score:default=0}}" in r.json()["error"]
    with server.services.sessions() as s:
        assert s.scalars(select(Lead)).first() is None
    fixed = render(tokens(datetime.now(UTC), **{"lead.Lead Score": ""}),
                   TEMPLATE.replace("{{lead.Lead Score}}", "{{lead.Lead Score:default=0}}"))
    assert post(http, server, fixed).status_code == 202


@pytest.mark.parametrize("mistake", ["quoted tokens", "encoding None"])
def test_a_template_marketo_cannot_render_as_json_is_a_400_naming_the_setting(http, server, mistake):
    if mistake == "quoted tokens":  # the admin put quotes round the tokens: Marketo adds its own
        body = render(tokens(datetime.now(UTC)), re.sub(r"(\{\{(?!campaign\.Id|lead\.Id|lead\.Lead Score)[^}]+\}\})",
                                                       r'"\1"', TEMPLATE))
    else:  # Request Token Encoding None: the comment's quote and line break go in raw
        body = render(tokens(datetime.now(UTC)), encoding="None")
    r = post(http, server, body)
    assert r.status_code == 400
    assert "set Request Token Encoding to JSON and leave tokens unquoted" in r.json()["error"]


def test_an_unreadable_activity_is_skipped_and_named_and_the_person_is_stored(http, server):
    body = render(tokens(datetime.now(UTC), **{"trigger.Name": "Contact Sales " * 30}))
    r = post(http, server, body)
    assert r.status_code == 202
    assert r.json()["accepted"] == 1 and r.json()["skipped"] == 1
    assert r.json()["details"] == [{"index": 1, "field": "trigger.name",
                                    "message": "is longer than 300 characters"}]
    with server.services.sessions() as s:
        assert find_lead(s, "dana.kim@umbrella.example").title == "Head of Plant Operations"
        assert s.scalars(select(Activity)).first() is None


def posted_text(call: dict) -> str:
    return json.dumps(call["blocks"], ensure_ascii=False)


def test_a_contact_sales_call_makes_a_brief_with_the_leads_words_sent_to_the_owner(http, slack_settings, fake_slack):
    with LiveServer(marketo.CONFIG.configure(slack_settings, webhook_secret=SECRET)) as server:
        r = post(http, server, render(tokens(datetime.now(UTC) - timedelta(minutes=3))))
        assert r.status_code == 202 and r.json()["qualified"] == 1
        post_call = fake_slack.wait_for("chat.postMessage")[0]
    text = posted_text(post_call)
    assert post_call["channel"] == "U0JANE"  # lead.Lead Owner Email Address -> her Slack user
    assert 'We have 3 plants and \\"legacy\\" SCADA' in text  # JSON of the blocks escapes the quote
    # The lead's text is data: & escaped, the form's HTML tags read as the text they wrap (briefs/cleaning.py).
    assert "120 seats &amp; SSO" in text and "Danke, Zoë" in text and "<b>" not in text and "&lt;b&gt;" not in text
    assert "Contact Sales" in text and "MQL" in text and "45" in text
    assert "Head of Plant Operations" in text and "Umbrella Manufacturing & Co." in text  # the header is plain_text


def test_the_template_tested_here_is_the_one_the_docs_give_admins():
    docs = (Path(__file__).parents[2] / "docs" / "sources.md").read_text(encoding="utf-8")
    section = docs[docs.index("### Marketo"):docs.index("### Mautic")]
    block = section[section.index("```json\n") + len("```json\n"):]
    block = block[:block.index("```")]
    assert [line.strip() for line in block.strip().splitlines()] == [line.strip() for line in TEMPLATE.strip().splitlines()]
