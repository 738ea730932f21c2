"""Deliver a brief: route it (briefs.routing decides: the rep's channel, else a DM, else the team queue),
honour quiet mode and the speed-to-lead clock, and post it once, looking in Slack first after a fault.

The outbox worker (bot.worker) is generic: the follow-through this use case starts with a post (the clock,
the digest queue in quiet mode) comes back to it as writes carried by the outcome (Sent.write, Parked)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as dtime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.gateway import (
    PERMANENT,
    ROUTE_ERRORS,
    Directory,
    MembershipPending,
    backoff,
    error_code,
    retry_after,
    route_problem,
    too_long,
)
from bot.usecases.accounts import ACCOUNT_NOTICES, notice_target
from bot.usecases.deps import Services
from bot.usecases.outcomes import NOT_POSTED, DeferredError, DeliveryError, LeaseLost, Parked, Sent
from briefs.blocks import delivered, shortened
from briefs.followthrough import HOT_KINDS, asked_window, is_high_intent
from briefs.followup import SlaState, Status
from briefs.qualification import Reason
from briefs.routing import ROUTE_FAILED, Route, decide_route, rep_route, route_failed, to_queue
from briefs.sla import next_working_day_at
from briefs.triage import Destination
from storage import audit, outbox
from storage import followthrough as followthrough_store
from storage import leads as lead_store
from storage.models import COPY, REP_NOTICE
from storage.outbox import BriefSubject, PendingDelivery

log = logging.getLogger("leadbrief.slack")

DELIVERY_EVENT = "leadbrief_brief"
NOTICE = "notice"  # deliveries.kind of a triage notice
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")  # a Slack user id, as a /lead note's author is stored
ACCESS_WAIT = 10.0  # seconds a delivery waits for Slack to say who is on the team (off the request path)
# A rep's route Slack called gone is not tried again for this long (seconds): briefs go to the team queue.
GONE_FOR = 600.0
# The window of a channel's history searched for an earlier post: around when it left, allowing for clock skew
# between this machine and Slack and for a slow answer.
HISTORY_WINDOW = 300.0
HISTORY_PAGES = 5

# Slack allows about one chat.postMessage per second per channel (MIN_GAP). Slots are booked a little
# further apart, so that a post that goes out a few milliseconds late does not hold up the next one.
POST_INTERVAL = 1.03
MIN_GAP = 1.01  # a hair over a second: requests arrive at Slack a few ms apart from when they were sent


class ChannelPacer:
    """Spaces posts to each channel POST_INTERVAL apart, across every worker: slots are booked in the
    database (storage.outbox.book_slot) and a delivery deferred to its slot keeps it."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 interval: float = POST_INTERVAL) -> None:
        self.sessions = sessions
        self.clock = clock
        self.interval = interval

    def wait_for(self, item: PendingDelivery, channel: str) -> tuple[float, tuple[str, float]]:
        """Seconds to wait before posting item to channel, and the slot it holds. When it is 0, the post is
        written down (storage.outbox.intend) in the transaction that takes the channel; LeaseLost when the
        delivery is no longer this worker's."""
        now = self.clock().timestamp()
        if item.slot_channel == channel and item.slot_at is not None:
            slot = item.slot_at
        else:
            with self.sessions.begin() as s:
                slot = outbox.book_slot(s, channel, now, self.interval)
        if slot > now:
            return slot - now, (channel, slot)
        # Our slot has come; but if the brief before it went out late, keep the interval after that one.
        with self.sessions.begin() as s:
            wait = outbox.reserve_post(s, channel, now, min(self.interval, MIN_GAP))
            if wait == 0.0 and item.owner is not None and not outbox.intend(s, item.id, item.owner, channel, now):
                raise LeaseLost(item.id)  # rolls the channel back too
            return wait, (channel, slot)


class HeldForDigest(Parked):
    """The rep is in quiet mode: the brief waits for their daily digest (bot.usecases.followthrough sends it)."""

    def __init__(self, delivery_id: int, user_id: str, until: datetime) -> None:
        def hold(session: Session) -> None:
            followthrough_store.hold_for_digest(session, delivery_id, user_id, until)

        super().__init__(f"held for {user_id}'s digest", hold)
        self.user_id = user_id
        self.until = until


def tell_unsafe_route(services: Services, client: WebClient, rep_user: str, channel: str, why: str) -> None:
    """The rep hears why their briefs come by DM: once a day per route, not with every brief."""
    now = services.clock()
    with services.sessions.begin() as s:
        if audit.last(s, action="route_unsafe", detail_prefix=f"{rep_user} {channel}", since=now - timedelta(days=1)):
            return
        audit.record(s, actor="leadbrief", action="route_unsafe", at=now, detail=f"{rep_user} {channel}: {why}")
    text = (f"Your new briefs come here instead of <#{channel}>: {why.removeprefix(f'<#{channel}> ')}, and lead "
            "briefs are only for the sales team. Pick a channel only the sales team is in with "
            "`/lead route #channel`.")
    try:
        client.chat_postMessage(channel=rep_user, text=text)
    except (SlackApiError, OSError) as exc:
        log.warning("could not tell %s their brief channel is unsafe: %s", rep_user, error_code(exc))


class SlackSink:
    """Routes a brief (rep's channel, else DM to the owner, else the team queue) and posts it."""

    def __init__(self, services: Services, client: WebClient, directory: Directory,
                 pacer: ChannelPacer | None = None) -> None:
        self.services = services
        self.client = client
        self.directory = directory
        self.pacer = pacer or ChannelPacer(services.sessions, services.clock)
        # Required whenever Slack is configured (bot.config).
        self.queue = services.settings.slack_default_channel or ""

    def route(self, owner_email: str | None) -> Route:
        """Gather what the routing decision reads (storage, settings, the directory, the access check), in
        that order, and apply it; the rep hears why an unsafe route of theirs was passed over."""
        stored = configured = uid = unsafe = None
        if owner_email:
            with self.services.sessions() as s:
                stored = lead_store.get_route(s, owner_email)
            configured = self.services.settings.slack_routes.get(owner_email.lower())
            uid = self.directory.user_id(owner_email)
            channel = rep_route(stored, configured)
            unsafe = self._unsafe(channel) if channel else None
        route = decide_route(owner_email, stored, configured, uid, unsafe, self.queue)
        if route.rep_user and route.unsafe_channel and route.unsafe_reason:
            tell_unsafe_route(self.services, self.client, route.rep_user, route.unsafe_channel, route.unsafe_reason)
        return route

    def _unsafe(self, channel: str) -> str | None:
        try:
            return route_problem(self.services.slack.access if self.services.slack else None, channel)
        except MembershipPending:
            raise DeferredError(timedelta(seconds=2)) from None  # no attempt used; the read is under way

    def __call__(self, item: PendingDelivery) -> Sent:
        try:
            return self._deliver(item)
        except OSError as exc:  # Slack unreachable, or the connection cut mid-post: try again later, checking first
            raise DeliveryError(f"Slack unreachable ({type(exc).__name__})", retry_in=backoff(item.attempts)) from None

    def notice_channel(self, item: PendingDelivery) -> str:
        """A triage notice's channel, as [triage] says now: the destination's, else marketing ops', else the
        leads channel. Where the admin configured it: no access check (docs/triage.md, "Who sees a notice")."""
        to = item.notice_to
        destination = Destination(to) if to in set(Destination) else None
        return self.services.settings.triage.channel_for(destination, self.queue) or self.queue

    def _deliver_notice(self, item: PendingDelivery) -> Sent:
        """A notice goes out like a brief (paced, retried, looked for after a fault), but starts nothing. An
        owner's copy (COPY) goes where the owner's briefs go."""
        if item.kind == COPY:
            with self.services.sessions() as s:
                subject = outbox.subject(s, item)
            owner_route = self._live_route(item.notice_to)
            if self._recipient_route(subject).channel == owner_route.channel:
                return Sent(NOT_POSTED)  # the brief itself went to the owner: a copy would say it twice
            channel, thread_ts = owner_route.channel, None
        elif item.notice_to in ACCOUNT_NOTICES:
            channel, thread_ts, item = self._account_notice(item)
        else:
            channel, thread_ts = self.notice_channel(item), None
        try:
            if item.unclear_channel:
                found = self._posted_before(item, item.unclear_channel)
                if found:
                    return Sent(*found)
        except SlackApiError as exc:
            raise self._error(exc, item) from None
        wait, slot = self.pacer.wait_for(item, channel)
        if wait > 0.001:
            raise DeferredError(timedelta(seconds=wait), slot, maybe_posted=False)
        sending = self.pacer.clock().timestamp()
        metadata = {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": item.id}}
        try:
            resp = self.client.chat_postMessage(channel=channel, text=item.payload["text"],
                                                blocks=item.payload["blocks"], unfurl_links=False,
                                                unfurl_media=False, metadata=metadata, thread_ts=thread_ts)
        except SlackApiError as exc:
            raise self._error(exc, item, posting=True) from None
        return Sent(resp["channel"], resp["ts"], paced=(channel, sending))

    def _account_notice(self, item: PendingDelivery) -> tuple[str, str | None, PendingDelivery]:
        """An account notice (bot/usecases/accounts.py): into the account brief's thread, or to the other rep
        with a link to it; after the account brief is posted."""
        target = notice_target(self.services.sessions, item.qualification_id, item.lead_id, item.notice_to or "")
        if not target.ready:
            # The account brief is not posted yet: look again soon, then less often while it is held or retried.
            waited = (self.services.clock() - item.created_at).total_seconds() if item.created_at else 0.0
            raise DeferredError(timedelta(seconds=min(300.0, max(5.0, waited / 4))))
        if target.thread:
            return target.thread[0], target.thread[1], item
        if target.link:
            text = f"{item.payload['text']} <{target.link}|Open the account brief>"
            block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
            item = replace(item, payload={"text": text, "blocks": [block]})
        return self._live_route(target.owner_email).channel, None, item

    def _deliver(self, item: PendingDelivery) -> Sent:
        if item.kind in (NOTICE, COPY, REP_NOTICE):
            return self._deliver_notice(item)
        with self.services.sessions() as s:
            subject = outbox.subject(s, item)
        urgent = self._raised_hand(subject)
        try:
            route = self._recipient_route(subject)
            if item.unclear_channel:
                found = self._posted_before(item, item.unclear_channel)
                if found:
                    return self._already_posted(item, subject, route, urgent, *found)
            self._hold_if_quiet(item, subject, route, urgent)
        except SlackApiError as exc:
            raise self._error(exc, item) from None
        try:
            return self._post(item, subject, route, urgent)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ROUTE_ERRORS and route.channel != self.queue:
                why = route_failed(error)
                log.warning("delivery %d: %s; using the team queue", item.id, why)
                with self.services.sessions.begin() as s:
                    outbox.remember_gone(s, route.channel, error, self.services.clock().timestamp() + GONE_FOR)
                try:
                    return self._post(item, subject, to_queue(route, self.queue, why), urgent)
                except SlackApiError as again:
                    raise self._error(again, item, posting=True) from None
            raise self._error(exc, item, posting=True) from None

    def _recipient_route(self, subject: BriefSubject) -> Route:
        """The owner's route; a brief for someone else (an at-risk renewal's CSM, a note's author) goes to
        theirs, only when they are on the sales team ([access]) and not the owner: anyone else, or anyone Slack
        cannot find, leaves the brief with the owner."""
        to = subject.deliver_to
        if to:
            uid = to if SLACK_USER.match(to) else self.directory.user_id(to)
            owner_uid = self.directory.user_id(subject.owner_email) if subject.owner_email else None
            if uid and uid != owner_uid and self._on_team(uid):
                if SLACK_USER.match(to):  # a /lead note's author: by DM
                    return Route(uid, rep_user=uid)
                route = self._live_route(to)
                if route.channel != self.queue or not subject.owner_email:
                    return route
        return self._live_route(subject.owner_email)

    def _on_team(self, user_id: str) -> bool:
        access = self.services.slack.access if self.services.slack else None
        return access is not None and access.allows(user_id, timeout=ACCESS_WAIT)

    def _live_route(self, owner: str | None) -> Route:
        """route(), except that a rep route Slack recently called gone goes straight to the team queue."""
        route = self.route(owner)
        if route.channel == self.queue or not self.queue:
            return route
        with self.services.sessions() as s:
            error = outbox.gone(s, route.channel, self.services.clock().timestamp())
        return to_queue(route, self.queue, route_failed(error)) if error else route

    def _posted_before(self, item: PendingDelivery, channel: str) -> tuple[str, str] | None:
        """(channel, ts) of this delivery's earlier post to `channel` when Slack has it, found by its metadata
        in the channel's history around when it left. SlackApiError when Slack cannot say right now (5xx, 429)."""
        at = item.unclear_at or self.services.clock().timestamp()
        try:
            if channel.startswith(("U", "W")):  # posted to a user id: its history is the DM's
                dm = self._dm_of(channel)
                if dm is None:
                    return None  # no DM with them: nothing was posted there
                channel = dm
            cursor = None
            for _ in range(HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel, oldest=f"{at - HISTORY_WINDOW:.6f}", latest=f"{at + HISTORY_WINDOW:.6f}",
                    inclusive=True, include_all_metadata=True, limit=200, cursor=cursor)
                for message in page.get("messages") or []:
                    meta = message.get("metadata") or {}
                    if (meta.get("event_type") == DELIVERY_EVENT
                            and (meta.get("event_payload") or {}).get("delivery_id") == item.id):
                        return channel, str(message["ts"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise
            log.warning("delivery %d: could not check %s for its earlier post (%s); posting it again, which may "
                        "duplicate it (see docs/slack.md)", item.id, channel, error_code(exc))
        return None

    def _dm_of(self, user_id: str) -> str | None:
        """The app's DM with a person, found among the bot's conversations (im:read): conversations.open would
        find it at once but needs im:write, which lets an app start conversations, more than we need."""
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = self.client.users_conversations(types="im", exclude_archived=True, limit=200, cursor=cursor)
            for im in page.get("channels") or []:
                if im.get("user") == user_id:
                    return str(im["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    def _already_posted(self, item: PendingDelivery, subject: BriefSubject, route: Route, urgent: datetime | None,
                        channel: str, ts: str) -> Sent:
        log.info("delivery %d: its earlier post went through after all (%s %s); recorded, not posted again",
                 item.id, channel, ts)
        reason = route.queue_reason
        if item.unclear_channel == self.queue and route.channel != self.queue:
            reason = ROUTE_FAILED
        due = self._due(subject, route.rep_user, urgent)
        return Sent(channel, ts, reason, write=self._start_clock(item, route.rep_user, due))

    @staticmethod
    def _start_clock(item: PendingDelivery, rep_user: str | None, due: datetime | None) -> Callable[[Session], None]:
        """Follow-through begins with the post: recorded with it, in the worker's transaction."""
        def start(session: Session) -> None:
            followthrough_store.start_clock(session, item.qualification_id, rep_user, due)

        return start

    def _post(self, item: PendingDelivery, subject: BriefSubject, route: Route, urgent: datetime | None = None) -> Sent:
        # Everything that may call Slack or the database comes before the posting slot is taken: from then on
        # the post must go out at once, or it may follow the channel's previous one too closely.
        due = self._due(subject, route.rep_user, urgent)
        state = replace(subject.followup, queue_reason=route.queue_reason, rep_user=route.rep_user,
                        sla_due_at=due, sla_state=SlaState.RUNNING if due else None)
        payload = delivered(item.payload, state)
        wait, slot = self.pacer.wait_for(item, route.channel)
        if wait > 0.001:
            raise DeferredError(timedelta(seconds=wait), slot, maybe_posted=False)
        sending = self.pacer.clock().timestamp()
        metadata = {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": item.id}}
        try:
            resp = self.client.chat_postMessage(
                channel=route.channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False,
                unfurl_media=False, metadata=metadata,
            )
        except SlackApiError as exc:
            if not too_long(exc):
                raise
            # Slack counts differently from us after all: the same payload would fail again, so a shorter one now.
            log.warning("delivery %d: Slack said %s; posting a shorter brief", item.id, error_code(exc))
            payload = shortened(item.payload, state)
            resp = self.client.chat_postMessage(
                channel=route.channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False,
                unfurl_media=False, metadata=metadata,
            )
        return Sent(resp["channel"], resp["ts"], route.queue_reason, paced=(route.channel, sending),
                    write=self._start_clock(item, route.rep_user, due))

    def _due(self, subject: BriefSubject, rep_user: str | None, urgent: datetime | None) -> datetime | None:
        """When the speed-to-lead clock runs out: business time in the rep's Slack time zone."""
        if subject.status != Status.OPEN or subject.claimed_by:
            return None
        policy = self.services.settings.follow_up
        tz = policy.zone(self.time_zone(rep_user))
        # A callback window the lead asked for: the clock runs out in it, never before it opens.
        with self.services.sessions() as s:
            forms = followthrough_store.forms_until(s, subject.lead_id, urgent or subject.qualified_at)
        window = asked_window(forms, self.services.settings.rules, self.services.clock())
        if urgent:
            return policy.due(Reason.HAND_RAISER, urgent, tz, window)
        return policy.due(subject.reason, subject.qualified_at, tz, window)

    def time_zone(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        try:
            return (self.directory.user(user_id) or {}).get("tz")
        except SlackApiError:
            return None

    def _raised_hand(self, subject: BriefSubject) -> datetime | None:
        """When the lead asked for sales: a lead who did so after qualifying counts as a hand-raiser from then
        on (5-minute clock, never held for a digest). None if they have not."""
        if subject.reason == Reason.HAND_RAISER:
            return subject.qualified_at
        with self.services.sessions() as s:
            recent = followthrough_store.hot_kinds_since(s, subject.lead_id, subject.qualified_at, HOT_KINDS)
            hot = [a.occurred_at for a in recent if is_high_intent(a, self.services.settings.rules)]
        return max(subject.qualified_at, min(hot)) if hot else None

    def _hold_if_quiet(self, item: PendingDelivery, subject: BriefSubject, route: Route,
                       urgent: datetime | None) -> None:
        """Quiet mode: a rep's non-urgent briefs wait for their daily digest; hand-raisers never wait."""
        policy = self.services.settings.follow_up
        if urgent is not None or not route.rep_user or route.queue_reason:
            return
        with self.services.sessions() as s:
            prefs = followthrough_store.prefs(s, route.rep_user)
            quiet, at = (prefs.quiet, prefs.digest_time) if prefs else (False, None)
        if quiet:
            when = next_working_day_at(self.services.clock(), policy.zone(self.time_zone(route.rep_user)), policy.hours,
                                  dtime.fromisoformat(at) if at else policy.digest_time)
            raise HeldForDigest(item.id, route.rep_user, when)

    def _error(self, exc: SlackApiError, item: PendingDelivery, posting: bool = False) -> Exception:
        """posting: exc answered the post itself. Slack refused it (a 4xx or ok=false) and it is not out
        there; after a 5xx it may be, and the next attempt looks for it first."""
        status = exc.response.status_code
        error = f"HTTP {status}" if status >= 500 else (exc.response.get("error") or f"HTTP {status}")
        maybe_posted = not posting or status >= 500
        if exc.response.status_code == 429:
            return DeferredError(timedelta(seconds=max(1.0, retry_after(exc))), maybe_posted=maybe_posted)
        if error in PERMANENT:
            return DeliveryError(f"Slack refused the post: {error}", retry_in=None, maybe_posted=maybe_posted)
        return DeliveryError(f"Slack error: {error}", retry_in=backoff(item.attempts), maybe_posted=maybe_posted)

