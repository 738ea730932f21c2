"""Where the follow-up goes on a stored brief (block_id anchors, and by position for briefs stored before
them), and the public rendering kit."""

from datetime import UTC, datetime

from briefs.blocks import button, delivered, fitted, followup_blocks, mention
from briefs.followup import FollowUp, RepAction

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def _text(kind: str, text: str, block_id: str | None = None) -> dict:
    body = {"type": "mrkdwn", "text": text, "verbatim": True}
    block = {"type": "section", "text": body} if kind == "section" else {"type": "context", "elements": [body]}
    return block | ({"block_id": block_id} if block_id else {})


def stored(anchored: bool) -> dict:
    def bid(name: str) -> str | None:
        return name if anchored else None

    return {"text": "Jon Doe", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "🔥 Jon Doe"}},
        _text("context", "hand-raiser · 2 min ago", bid("brief_status")),
        _text("section", "*Why now.* asked for a demo", bid("brief_why")),
        _text("section", "*Talk track*\n> Hi Jon", bid("brief_talk")),
        {"type": "actions", "block_id": "lead_links", "elements": [
            {"type": "button", "action_id": "open_crm", "text": {"type": "plain_text", "text": "CRM"},
             "url": "https://crm.example/1"}]},
        _text("context", "jon@acme.example · qualification #7", bid("brief_footer")),
    ]}


STATE = FollowUp(7, queue_reason="no owner in the CRM", qualified_at=NOW, crm_url="https://crm.example/1")


def _layout(message: dict) -> list[str]:
    out = []
    for b in message["blocks"]:
        if b["type"] == "actions":
            out.append("actions:" + b["block_id"])
            continue
        text = b["text"]["text"] if "text" in b else b["elements"][0]["text"]
        out.append(b["type"] + ":" + text.split()[0])
    return out


def test_the_follow_up_goes_between_the_head_and_the_footer_by_anchors_and_by_position_alike():
    expected = ["header:🔥", "context:hand-raiser", "section:📥", "section:*Why", "section:*Talk", "context:⏱️",
                "actions:followup_7", "context:jon@acme.example"]
    assert _layout(delivered(stored(anchored=True), STATE)) == expected
    assert _layout(delivered(stored(anchored=False), STATE)) == expected  # stored before the anchors


def test_anchors_place_the_follow_up_where_position_would_guess_wrong():
    # An anchored brief whose status line and footer were both cut to fit: nothing in it is head or footer
    # but the header, even though a context ends it.
    payload = {"text": "Jon", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Jon"}},
        _text("section", "*Why now.* asked", "brief_why"),
        _text("context", "a note", "brief_notes"),
    ]}
    ids = [b.get("block_id") for b in delivered(payload, FollowUp(7))["blocks"]]
    assert ids == [None, "brief_why", "brief_notes", "followup_7"]
    old = {"text": "Jon", "blocks": [{k: v for k, v in b.items() if k != "block_id"} for b in payload["blocks"]]}
    assert [b["type"] for b in delivered(old, FollowUp(7))["blocks"]] == ["header", "section", "actions", "context"]


def test_the_kit():
    assert mention("U0JANE") == "<@U0JANE>" and mention("<!here>") == "&lt;!here&gt;" and mention(None) == "someone"
    assert button("Claim", RepAction.CLAIM, "7", "primary") == {
        "type": "button", "action_id": "lead_claim", "text": {"type": "plain_text", "text": "Claim"}, "value": "7",
        "style": "primary"}
    section = fitted("*Head*\n", ["a" * 100] * 50, limit=500)
    assert len(section["text"]["text"]) <= 500 and section["text"]["text"].endswith("more")
    assert [e["action_id"] for e in followup_blocks(FollowUp(7))[-1]["elements"]] == [
        "lead_claim", "lead_contacted", "lead_snooze", "lead_reassign", "lead_not_a_fit"]
