"""Notes written in Slack are labelled by their author's role from [notes] roles (a user, or a user group's
member); an author in none of them is shown without a role (issue 17)."""

import json
from dataclasses import replace

from sqlalchemy import select

from storage.models import HandoffNote
from tests.e2e.test_slack import (
    events_now,
    hand_raiser,
    send_webhook,
    slash,
    wait_brief_recorded,
)
from tests.support.live import LiveServer


def test_slack_notes_carry_the_configured_role_and_the_brief_shows_it(http, slack_settings, fake_slack):
    fake_slack.add_usergroup("S0CSMS", ["U0OMAR"])
    settings = replace(slack_settings, note_roles={"U0MIA": "marketing", "S0CSMS": "CSM"})
    with LiveServer(settings) as server:
        send_webhook(http, server, hand_raiser(events_now()))
        fake_slack.wait_for("chat.postMessage")
        wait_brief_recorded(server)
        slash(http, server, fake_slack, "note sam@globex.example Met Sam at the Lyon expo; wants 40 plants live",
              user="U0MIA", name="mia")
        fake_slack.wait_for_responses("mia")
        slash(http, server, fake_slack, "note sam@globex.example Globex renews with us in March (40 seats)",
              user="U0OMAR", name="omar")
        fake_slack.wait_for_responses("omar")
        slash(http, server, fake_slack, "note sam@globex.example call after 3pm", user="U0JANE", name="jane")
        fake_slack.wait_for_responses("jane")
        with server.services.sessions() as s:
            roles = {n.author: n.author_role for n in s.scalars(select(HandoffNote))}
        assert roles == {"Mia Marketing": "marketing", "Omar Rep": "CSM", "Jane Rep": None}
        slash(http, server, fake_slack, "sam@globex.example", name="lookup")
        shown = json.dumps(fake_slack.wait_for_responses("lookup")[0], ensure_ascii=False)
        assert "Mia Marketing, marketing (" in shown and "Omar Rep, CSM (" in shown
        assert "Jane Rep (" in shown and "Jane Rep, " not in shown
        assert "*Notes*" in shown and "Notes from marketing" not in shown
