"""Slack's Block Kit limits, written from Slack's documentation (the Block Kit block, element, text object and
view object references, the chat.postMessage method page) and, where Slack is silent, from what Slack's engineers
said - never from our own constants: the one validator the tests and the fake Slack share.

Errors read as Slack's do: ``"<what> [json-pointer:/blocks/3/text/text]"``. Lengths count Python code points, as
slack_sdk counts them.
"""

from __future__ import annotations

from typing import Any

#: Block Kit reference: a message holds 50 blocks, a modal or Home view 100.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
#: chat.postMessage truncates the top-level text past this.
MAX_MESSAGE_TEXT = 40000
#: Text of all blocks in one message, together. Undocumented: Slack engineers in slackapi/bolt-js#2509 and #2867
#: give "12,000 text characters"; past it Slack answers ``msg_blocks_too_long``. Counted in code points, as
#: slack_sdk counts.
MAX_BLOCKS_TEXT = 12000

#: Block types Slack knows; anything else is rejected as Slack rejects unknown types.
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)




class _BlockErrors:
    """Collects Slack-style error strings: ``"<what> [json-pointer:/blocks/3/text/text]"``."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, pointer: str, message: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def text(
        self,
        obj: Any,
        pointer: str,
        max_len: int | None,
        *,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        """A composition text object ``{"type": "plain_text"|"mrkdwn", "text": "..."}``."""
        if obj is None:
            if required:
                self.add(pointer, "must provide an object")
            return
        if not isinstance(obj, dict):
            self.add(pointer, "must be an object")
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.add(f"{pointer}/type", f'must be one of "plain_text", "mrkdwn" (got {kind!r})')
        elif plain_only and kind != "plain_text":
            self.add(f"{pointer}/type", f'must be "plain_text" (got {kind!r})')
        # Text object reference: `verbatim` is a mrkdwn field, `emoji` a plain_text one.
        if "verbatim" in obj and kind != "mrkdwn":
            self.add(f"{pointer}/verbatim", "is only allowed on mrkdwn text")
        if "emoji" in obj and kind != "plain_text":
            self.add(f"{pointer}/emoji", "is only allowed on plain_text text")
        text = obj.get("text")
        if not isinstance(text, str):
            self.add(f"{pointer}/text", "must be a string")
            return
        if not text:
            self.add(f"{pointer}/text", "must be more than 0 characters")
        if max_len is not None and len(text) > max_len:
            self.add(f"{pointer}/text", f"must be less than {max_len + 1} characters (got {len(text)})")

    def string(self, value: Any, pointer: str, max_len: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add(pointer, "must be a string")
        elif len(value) > max_len:
            self.add(pointer, f"must be less than {max_len + 1} characters (got {len(value)})")

    def image(self, obj: dict, pointer: str) -> None:
        if "image_url" not in obj and "slack_file" not in obj:
            self.add(pointer, "must provide either image_url or slack_file")
        self.string(obj.get("image_url"), f"{pointer}/image_url", 3000)
        if not isinstance(obj.get("alt_text"), str) or not obj["alt_text"]:
            self.add(f"{pointer}/alt_text", "must provide a non-empty string")
        self.string(obj.get("alt_text"), f"{pointer}/alt_text", 2000)

    def element(self, el: Any, pointer: str) -> None:
        """An interactive element (accessory, actions element, input element)."""
        if not isinstance(el, dict) or not isinstance(el.get("type"), str):
            self.add(pointer, "must be an object with a type")
            return
        self.string(el.get("action_id"), f"{pointer}/action_id", 255)
        kind = el["type"]
        if kind == "button":
            self.text(el.get("text"), f"{pointer}/text", 75, plain_only=True)
            self.string(el.get("url"), f"{pointer}/url", 3000)
            self.string(el.get("value"), f"{pointer}/value", 2000)
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.add(f"{pointer}/style", 'must be one of "primary", "danger"')
        elif kind == "image":
            self.image(el, pointer)
        elif kind in ("static_select", "overflow"):
            options = el.get("options")
            lo, hi = (2, 5) if kind == "overflow" else (1, 100)
            if not isinstance(options, list) or not lo <= len(options) <= hi:
                self.add(f"{pointer}/options", f"must provide {lo} to {hi} options")
            else:
                for i, opt in enumerate(options):
                    self.text(opt.get("text") if isinstance(opt, dict) else None, f"{pointer}/options/{i}/text", 75,
                              plain_only=True)
                    self.string(opt.get("value") if isinstance(opt, dict) else None, f"{pointer}/options/{i}/value", 150)
        elif kind not in ("users_select", "conversations_select", "channels_select", "plain_text_input",
                          "datepicker", "timepicker", "checkboxes", "radio_buttons", "multi_users_select"):
            self.add(f"{pointer}/type", f"unknown element type {kind!r}")
        if "placeholder" in el:
            self.text(el["placeholder"], f"{pointer}/placeholder", 150, plain_only=True)

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.add(pointer, "must be an object")
            return
        kind = block.get("type")
        if not isinstance(kind, str):
            self.add(f"{pointer}/type", "must provide a block type")
            return
        if kind not in KNOWN_BLOCK_TYPES:
            self.add(f"{pointer}/type", f"unknown block type {kind!r}")
            return
        self.string(block.get("block_id"), f"{pointer}/block_id", 255)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.add(pointer, "must provide either text or fields")
            if "text" in block:
                self.text(block["text"], f"{pointer}/text", 3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list):
                    self.add(f"{pointer}/fields", "must be an array")
                else:
                    if len(fields) > 10:
                        self.add(f"{pointer}/fields", f"must be no more than 10 items (got {len(fields)})")
                    for i, f in enumerate(fields):
                        self.text(f, f"{pointer}/fields/{i}", 2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", 150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.add(f"{pointer}/elements", "must provide a non-empty array")
                return
            if len(elements) > 10:
                self.add(f"{pointer}/elements", f"must be no more than 10 items (got {len(elements)})")
            for i, el in enumerate(elements):
                if isinstance(el, dict) and el.get("type") == "image":
                    self.image(el, f"{pointer}/elements/{i}")
                else:
                    self.text(el, f"{pointer}/elements/{i}", 3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.add(f"{pointer}/elements", "must provide a non-empty array")
                return
            if len(elements) > 25:
                self.add(f"{pointer}/elements", f"must be no more than 25 items (got {len(elements)})")
            for i, el in enumerate(elements):
                self.element(el, f"{pointer}/elements/{i}")
        elif kind == "image":
            self.image(block, pointer)
            if "title" in block:
                self.text(block["title"], f"{pointer}/title", 2000, plain_only=True)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{pointer}/hint", 2000, plain_only=True)
            if "element" not in block:
                self.add(f"{pointer}/element", "must provide an object")
            else:
                self.element(block["element"], f"{pointer}/element")

    def blocks(self, blocks: Any, pointer: str, max_blocks: int) -> None:
        if not isinstance(blocks, list):
            self.add(pointer, "must be an array")
            return
        if len(blocks) > max_blocks:
            self.add(pointer, f"must be no more than {max_blocks} items (got {len(blocks)})")
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}")


def validate_message_blocks(blocks: Any, text: Any = None) -> list[str]:
    """Errors for a message's ``blocks`` (≤ 50) and top-level ``text`` (≤ 40000 chars); empty when valid."""
    v = _BlockErrors()
    if blocks is not None:
        v.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        v.add("/text", f"must be less than {MAX_MESSAGE_TEXT + 1} characters (got {len(text)})")
    return v.errors


def blocks_text_length(blocks: Any) -> int:
    """Characters of text in ``blocks``, all together: every ``text`` string anywhere in them (section text and
    fields, context elements, headers, button and option texts, placeholders, rich-text runs)."""
    if isinstance(blocks, list):
        return sum(blocks_text_length(b) for b in blocks)
    if not isinstance(blocks, dict):
        return 0
    return sum(len(v) if k == "text" and isinstance(v, str) else blocks_text_length(v) for k, v in blocks.items())


def message_error(blocks: Any, text: Any = None) -> tuple[str, list[str]] | None:
    """Slack's error for a message's blocks and text, with the details of ``invalid_blocks``; None if valid."""
    errors = validate_message_blocks(blocks, text)
    if errors:
        return "invalid_blocks", errors
    if blocks_text_length(blocks) > MAX_BLOCKS_TEXT:
        return "msg_blocks_too_long", []
    return None


def validate_view(view: Any) -> list[str]:
    """Errors for a ``views.*`` view (modal or home); empty when valid."""
    v = _BlockErrors()
    if not isinstance(view, dict):
        v.add("/view", "must be an object")
        return v.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        v.add("/view/type", f'must be one of "modal", "home" (got {kind!r})')
    if kind == "modal":
        v.text(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                v.text(view[key], f"/view/{key}", 24, plain_only=True)
    v.string(view.get("callback_id"), "/view/callback_id", 255)
    v.string(view.get("private_metadata"), "/view/private_metadata", 3000)
    v.string(view.get("external_id"), "/view/external_id", 255)
    blocks = view.get("blocks")
    if blocks is None:
        v.add("/view/blocks", "must provide an array")
    else:
        v.blocks(blocks, "/view/blocks", MAX_VIEW_BLOCKS)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if kind == "modal" and has_input and "submit" not in view:
            v.add("/view", "must provide a submit property when an input block is used")
    return v.errors


def assert_valid_message(payload: dict) -> None:
    """A message (``{"blocks": [...], "text": ...}``) Slack accepts as it is: valid blocks, neither too many nor
    too long, all the text of its blocks together within Slack's total."""
    blocks = payload.get("blocks")
    assert isinstance(blocks, list) and blocks, "a message of blocks needs at least one"
    problem = message_error(blocks, payload.get("text"))
    assert problem is None, problem
