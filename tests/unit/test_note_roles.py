"""Notes labelled by who wrote them (issue 17): the event's author_role, or [notes] roles for Slack notes; an
unknown author is shown without a role, never with a wrong one."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.file import ConfigFile
from bot.config.notes import load_note_roles
from bot.settings import ConfigError
from briefs.blocks import to_blocks
from briefs.events import InvalidBatch, parse_batch
from briefs.model import BriefInput, build_brief, note_role, notes_title
from briefs.signals import LeadView, NoteView
from briefs.text import to_text_brief

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LEAD = LeadView(email="k.tanaka@contoso.example", first_name="Kenji", last_name="Tanaka", company="Contoso KK")


@pytest.mark.parametrize(("raw", "label"), [
    ("csm", "CSM"), ("Customer_Success", "CSM"), ("MARKETING", "marketing"), ("marketing-ops", "marketing"),
    ("AE", "sales rep"), ("sdr", "SDR"), ("Channel  partner <b>", "Channel partner <b>"), ("", None), (None, None),
    ("   ", None),
])
def test_note_role_words(raw, label):
    assert note_role(raw) == label


def test_notes_are_labelled_by_role_and_the_title_names_one_shared_role():
    notes = [NoteView("Mia Keller", "Met Kenji at the Tokyo expo; keen on the ERP connector.", NOW - timedelta(days=2),
                      role="marketing"),
             NoteView("Ola Berg", "Renewal in March; they pay for 40 seats today & want 120.", NOW - timedelta(hours=5),
                      role="csm"),
             NoteView("Unknown Person", "Ping me before you call.", NOW - timedelta(hours=1))]
    brief = build_brief(BriefInput(LEAD, [], notes, None, NOW))
    assert brief.notes_title == "Notes"
    assert brief.notes[0].startswith("Unknown Person (")
    assert brief.notes[1].startswith("Ola Berg, CSM (")
    assert brief.notes[2].startswith("Mia Keller, marketing (")
    texts = [b["text"]["text"] for b in to_blocks(brief)["blocks"] if b.get("block_id") == "brief_notes"]
    assert texts and texts[0].startswith("*Notes*\n") and "&amp; want 120" in texts[0]
    assert "\nNotes\n" in to_text_brief(brief)
    assert notes_title([notes[0]]) == "Notes from marketing"
    assert notes_title([notes[1]]) == "Notes from the CSM"
    assert notes_title([notes[2]]) == "Notes"  # not "from marketing" when nobody said so
    assert notes_title([]) == "Notes"


def test_the_event_contract_takes_an_optional_author_role():
    base = {"type": "lead.note", "id": "n1", "occurred_at": "2026-11-24T10:00:00Z", "email": "k.tanaka@contoso.example",
            "author": "Ola Berg", "text": "Renewal in March."}
    with_role, without = parse_batch({"events": [{**base, "author_role": "csm"}, {**base, "id": "n2"}]})
    assert with_role.author_role == "csm" and without.author_role is None
    with pytest.raises(InvalidBatch, match="1 of 1 events are invalid"):
        parse_batch({"events": [{**base, "author_role": "x" * 65}]})


def _file(tmp_path, text):
    import tomllib

    path = tmp_path / "leadbrief.toml"
    path.write_text(text)
    return ConfigFile(path, tomllib.loads(text))


def test_notes_config(tmp_path):
    roles = load_note_roles(_file(tmp_path, '[notes]\nroles = { U0MIA = "marketing", S0CSMS = " customer  success " }\n'))
    assert roles == {"U0MIA": "marketing", "S0CSMS": "customer success"}
    assert load_note_roles(_file(tmp_path, "")) == {}
    with pytest.raises(ConfigError, match="not a Slack user id"):
        load_note_roles(_file(tmp_path, '[notes]\nroles = { "mia@ourco.example" = "marketing" }\n'))
    with pytest.raises(ConfigError, match="must be a role of 1 to 64"):
        load_note_roles(_file(tmp_path, '[notes]\nroles = { U0MIA = "" }\n'))
    with pytest.raises(ConfigError, match="unknown key notes.role"):
        load_note_roles(_file(tmp_path, '[notes]\nrole = { U0MIA = "CSM" }\n'))
