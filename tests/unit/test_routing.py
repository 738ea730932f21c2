"""The routing decision, pure: where a brief goes, and why it went to the team queue."""

from briefs.routing import NO_OWNER, ROUTE_FAILED, Route, decide_route, rep_route, route_failed, to_queue

QUEUE = "C0QUEUE"
OWNER = "jane@acme.example"


def test_no_owner_goes_to_the_queue():
    assert decide_route(None, "C0MINE", "C0CONF", "U0JANE", None, QUEUE) == Route(QUEUE, NO_OWNER)


def test_the_reps_own_route_comes_before_the_configured_one():
    assert decide_route(OWNER, "C0MINE", "C0CONF", "U0JANE", None, QUEUE) == Route("C0MINE", rep_user="U0JANE")
    assert decide_route(OWNER, None, "C0CONF", "U0JANE", None, QUEUE) == Route("C0CONF", rep_user="U0JANE")
    assert rep_route("C0MINE", "C0CONF") == "C0MINE" and rep_route(None, "C0CONF") == "C0CONF"


def test_a_route_is_used_even_when_the_owner_is_not_in_slack():
    assert decide_route(OWNER, "C0MINE", None, None, None, QUEUE) == Route("C0MINE")


def test_no_route_means_a_dm_to_the_owner():
    assert decide_route(OWNER, None, None, "U0JANE", None, QUEUE) == Route("U0JANE", rep_user="U0JANE")


def test_an_owner_outside_the_workspace_goes_to_the_queue_with_the_reason():
    route = decide_route(OWNER, None, None, None, None, QUEUE)
    assert route == Route(QUEUE, "owner jane@acme.example is not in this Slack workspace")


def test_an_unsafe_route_falls_back_to_a_dm_and_says_so():
    why = "<#C0MINE> has 2 member(s) outside the sales team"
    route = decide_route(OWNER, "C0MINE", None, "U0JANE", why, QUEUE)
    assert (route.channel, route.queue_reason, route.rep_user) == ("U0JANE", None, "U0JANE")
    assert (route.unsafe_channel, route.unsafe_reason) == ("C0MINE", why)


def test_an_unsafe_route_of_an_owner_outside_slack_goes_to_the_queue():
    why = "<#C0MINE> could not be checked (missing_scope)"
    route = decide_route(OWNER, "C0MINE", None, None, why, QUEUE)
    assert route == Route(QUEUE, f"the rep's brief channel {why}")
    assert route.unsafe_channel is None  # nobody to tell


def test_a_failed_route_goes_to_the_queue_keeping_the_rep():
    route = to_queue(Route("C0MINE", rep_user="U0JANE"), QUEUE, route_failed("channel_not_found"))
    assert route == Route(QUEUE, "could not post to the rep's route (channel_not_found)", "U0JANE")
    assert route_failed("is_archived").startswith(ROUTE_FAILED)
