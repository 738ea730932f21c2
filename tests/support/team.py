"""The Slack workspace most tests run in: three people, the leads queue and Jane's channel."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parent.parent.parent
QUEUE = "C0QUEUE"


def manifest_scopes() -> list[str]:
    manifest = yaml.safe_load((ROOT / "app_manifest.yml").read_text())
    return manifest["oauth_config"]["scopes"]["bot"]


def populate(fake: FakeSlack) -> None:
    # The app has exactly the scopes its manifest asks for: a call that needs another fails, as in Slack.
    fake.granted_scopes = set(manifest_scopes())
    fake.add_user("jane@ourco.example", "U0JANE", "jane", real_name="Jane Rep")
    fake.add_user("omar@ourco.example", "U0OMAR", "omar", real_name="Omar Rep")
    fake.add_user("mia@ourco.example", "U0MIA", "mia", real_name="Mia Marketing")
    fake.add_channel(QUEUE, "leads-queue")
    fake.add_channel("C0JANE", "jane-leads")
    # The leads channel's members are who may use Leadbrief by default ([access] in leadbrief.toml).
    fake.set_members(QUEUE, ["U0JANE", "U0OMAR", "U0MIA"])
