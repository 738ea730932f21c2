"""The follow-through worker: speed-to-lead reminders and escalation, snooze endings, thread updates with a
cooldown, and quiet mode's daily digests. Runs beside the delivery worker; everything it waits for is
scheduled in the database (storage/followthrough.py), so a restart only delays it, and several workers
can run at once: each step is taken with a compare-and-set, and exactly one worker acts on it."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot import metrics
from bot.gateway import PERMANENT, UNREACHABLE, error_code
from bot.usecases.deps import Services
from bot.usecases.followup import refresh, render_digest, send
from bot.usecases.notes import thread_notes
from briefs import followthrough as domain
from briefs.blocks import Message
from briefs.followup import OPEN_STATUSES, Due, NudgeKind, next_step
from briefs.routing import rep_route
from storage import followthrough as store
from storage import leads as lead_store

log = logging.getLogger("leadbrief.followthrough")

RETRY = timedelta(minutes=1)
SLOW_RETRY = timedelta(minutes=15)  # Slack refuses us outright (token revoked, scope missing): an admin must act
SKIP_AFTER_FAILURE = timedelta(minutes=5)
FULL_SCAN_EVERY = timedelta(minutes=1)
NOTES_OVERLAP = timedelta(seconds=30)
MAX_INCREMENTAL_ACTIVITIES = 10_000  # stored since the last pass; more: a full scan is quicker


class FollowThrough:
    def __init__(self, services: Services, client: WebClient, worker_id: str | None = None,
                 poll_seconds: float = 15.0, lease: timedelta = timedelta(minutes=2), min_gap: float = 1.0):
        self.services = services
        # Woken by every ingested batch: at most one pass per min_gap, so a webhook burst is not slowed down.
        self.min_gap = min_gap
        self.client = client
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Steps that raised unexpectedly, skipped until then so one bad lead does not flood the log.
        self._failing: dict[tuple[str, int | str], datetime] = {}
        # Thread updates: (newest activity id, time) of the last pass, and the time of the last full scan.
        self._scanned: tuple[int, datetime, datetime] | None = None
        # Notes for threads: (newest note id, time) of the last look.
        self._notes_seen: tuple[int, datetime] | None = None

    @property
    def policy(self) -> domain.FollowUpPolicy:
        return self.services.settings.follow_up

    @property
    def queue(self) -> str | None:
        return self.services.settings.slack_default_channel

    def now(self) -> datetime:
        return self.services.clock()

    def run_once(self) -> int:
        """Everything due now; returns how many messages were posted."""
        now = self.now()
        return self.nudges(now) + self.updates(now) + self.notes(self.now()) + self.digests(now)

    # --- SLA reminders, escalation, snooze endings --------------------------------------------------

    def nudges(self, now: datetime) -> int:
        with self.services.sessions() as s:
            due = store.due(s, now)
        return sum(self._guarded("reminder", n.qualification_id, self._nudge, n, now) for n in due)

    def _postpone(self, nudge: store.Nudge, now: datetime) -> None:
        # In the database, so that a few broken leads cannot fill every pass's batch of due steps.
        with self.services.sessions.begin() as s:
            store.retry_later(s, nudge, (nudge.state, nudge.nudge_at), now + SKIP_AFTER_FAILURE)

    def _guarded(self, what: str, key: int | str, step: Callable[..., int], *args: Any) -> int:
        """One lead's step; a bug or bad data there is logged and skipped for a while, never the whole pass."""
        until = self._failing.get((what, key))
        if until is not None and until > self.now():
            return 0
        try:
            return step(*args)
        except OperationalError:
            raise  # the database: the loop says so and waits
        except Exception:
            log.exception("follow-through %s for %s failed; skipping it for %s", what, key, SKIP_AFTER_FAILURE)
            now = self.now()
            self._failing = {k: t for k, t in self._failing.items() if t > now}
            self._failing[(what, key)] = now + SKIP_AFTER_FAILURE
            if what == "reminder":
                self._postpone(args[0], now)
            return 0

    def _tz(self, user_id: str | None) -> ZoneInfo:
        zone = None
        if user_id and self.services.slack is not None:
            try:
                zone = (self.services.slack.directory.user(user_id) or {}).get("tz")
            except SlackApiError:
                zone = None
        return self.policy.zone(zone)

    def _nudge(self, nudge: store.Nudge, now: datetime) -> int:
        with self.services.sessions() as s:
            posted = store.posted(s, nudge.qualification_id)
        if posted is None:
            return 0
        tz = self._tz(posted.rep_user)  # may ask Slack: before the transaction, not inside it
        step = next_step(Due(nudge.state, nudge.snoozed_until, nudge.claimed),
                         reachable=posted.status in OPEN_STATUSES and bool(posted.ts), now=now,
                         escalate_at=self.policy.escalate_at(posted.reason, now, tz))
        taken = (step.sla_state, step.nudge_at)
        with self.services.sessions.begin() as s:
            cleared = {"snoozed_until": None, "snoozed_by": None} if step.ends_snooze else {}
            took = store.take(s, nudge, *taken, **cleared)
        kind = step.nudge
        if kind is None:
            return 0
        if not took:
            return 0  # another worker has it, or the lead changed meanwhile
        waited = self.policy.waited(posted.qualified_at, now, tz)
        try:
            self._post_nudge(kind, posted, waited)
        except (SlackApiError, OSError) as exc:
            self._nudge_failed(kind, nudge, posted, taken, error_code(exc), now)
            metrics.follow_through("failed")
            return 0
        except Exception:
            with self.services.sessions.begin() as s:  # not posted: put back, and _guarded says why
                store.retry_later(s, nudge, taken, now + SKIP_AFTER_FAILURE)
            raise
        metrics.follow_through(kind)
        refresh(self.services, self.client, nudge.qualification_id)
        return 1

    def _nudge_failed(self, kind: NudgeKind, nudge: store.Nudge, posted: store.Posted,
                      taken: tuple[str | None, datetime | None], code: str, now: datetime) -> None:
        qid = nudge.qualification_id
        with self.services.sessions.begin() as s:
            if code not in UNREACHABLE:
                later = SLOW_RETRY if code in PERMANENT else RETRY
                log.warning("follow-through %s for qualification %d not posted (%s); trying again in %s", kind, qid,
                            code, later)
                store.retry_later(s, nudge, taken, now + later)
            elif kind == NudgeKind.REMIND and self.queue and posted.channel != self.queue:
                # The brief's place is gone (archived, bot removed): the rep cannot see a reminder there,
                # so the team queue is asked now instead of after the escalation delay.
                log.warning("reminder for qualification %d: the brief's channel is unreachable (%s); "
                            "escalating to the team queue now", qid, code)
                store.bring_forward(s, qid, taken, now)
            else:
                log.warning("follow-through %s for qualification %d not posted: %s (no retry can fix it)", kind,
                            qid, code)

    def _post_nudge(self, kind: NudgeKind, p: store.Posted, waited: float) -> None:
        sla = self.policy.sla_for(p.reason)
        if kind == NudgeKind.SNOOZE_OVER:
            self._reply(p, domain.snooze_over(p.card, p.rep_user), kind)
        elif kind == NudgeKind.REMIND:
            self._reply(p, domain.reminder(p.card, p.rep_user, waited, sla), kind)
        elif p.channel == self.queue or not self.queue:
            # Already in the team queue: say it again where the whole channel sees it.
            self._reply(p, domain.escalation(p.card, p.rep_user, waited, sla, None), kind, broadcast=True)
        else:
            msg = domain.escalation(p.card, p.rep_user, waited, sla, p.channel)
            resp = send(self.client.chat_postMessage, msg, channel=self.queue, unfurl_links=False, unfurl_media=False)
            with self.services.sessions.begin() as s:
                store.set_escalation(s, p.card.qualification_id, resp["channel"], resp["ts"])
                store.remember(s, p.card.qualification_id, kind, resp["channel"], resp["ts"], self.now())

    def _reply(self, p: store.Posted, msg: Message, kind: str, broadcast: bool = False) -> None:
        resp = send(self.client.chat_postMessage, msg, channel=p.channel, thread_ts=p.ts, reply_broadcast=broadcast,
                    unfurl_links=False, unfurl_media=False)
        with self.services.sessions.begin() as s:
            store.remember(s, p.card.qualification_id, kind, resp["channel"], resp["ts"], self.now())

    # --- Thread updates ------------------------------------------------------------------------------

    def updates(self, now: datetime, page: int = 200, max_pages: int = 25) -> int:
        since = now - domain.THREAD_UPDATE_HORIZON
        with self.services.sessions() as s:
            mark = store.newest_activity_id(s)  # read first: whatever is stored after it is the next pass's
            leads = self._candidates(s, now)
        if leads == []:
            self._scanned = (mark, now, self._scanned[2] if self._scanned else now)
            return 0
        # Page by id: leads that are kept for later (cooling down) must not crowd out the ones behind them.
        sent, after = 0, 0
        for _ in range(max_pages):
            with self.services.sessions() as s:
                batch = store.engaging(s, now, since, domain.HOT_KINDS, limit=page, after=after, lead_ids=leads)
            sent += sum(self._guarded("update", e.qualification_id, self._update, e, now) for e in batch)
            if len(batch) < page:
                break
            after = batch[-1].qualification_id
        full_at = now if leads is None or self._scanned is None else self._scanned[2]
        self._scanned = (mark, now, full_at)
        return sent

    def _candidates(self, session: Session, now: datetime) -> list[int] | None:
        """Between full scans (one a minute), only the leads that may have news: those with activity since
        the last pass, whose brief was just posted, or whose cooldown just ended. None: look at every lead
        (the full scan also catches an activity whose batch committed after a newer one)."""
        if self._scanned is None:
            return None
        mark, then, full_at = self._scanned
        if now < then or now - full_at >= FULL_SCAN_EVERY:
            return None
        active = store.active_leads(session, mark, MAX_INCREMENTAL_ACTIVITIES)
        if active is None:
            return None
        return sorted(active | set(store.posted_since(session, then)) | set(store.cooled_down(session, then, now)))

    def _update(self, e: store.Engaging, now: datetime) -> int:
        rules = self.services.settings.rules
        with self.services.sessions.begin() as s:
            # A barrier of its own (lock taken and let go at once), so no other lock is held while waiting.
            if not store.wait_for_writers(s, e.lead_id):
                return 0  # a batch for this lead is still being stored: next pass
        with self.services.sessions.begin() as s:
            since = store.qualified_at(s, e.qualification_id)
            posted = store.posted(s, e.qualification_id)
            if since is None or posted is None:
                return 0  # forgotten meanwhile
            rows = store.new_activities(s, e, since)
            if not rows:
                return 0
            cooling = e.update_after is not None and e.update_after > now
            if cooling and not any(domain.is_high_intent(a, rules) for _, a in rows):
                return 0  # kept, and combined into one update when the cooldown ends
            msg = domain.thread_update(posted.card, [a for _, a in rows], rules, posted.rep_user)
            cooldown = now + timedelta(minutes=self.policy.update_cooldown_minutes) if msg else None
            if not store.advance_updates(s, e, rows[-1][0], cooldown):
                return 0
        if msg is None or not posted.ts:
            return 0  # nothing worth a rep's attention (opens alone): marked as seen, nothing posted
        try:
            self._reply(posted, msg, "update")
        except (SlackApiError, OSError) as exc:
            code = error_code(exc)
            metrics.follow_through("failed")
            if code in UNREACHABLE:
                log.warning("thread update for qualification %d dropped: the brief is unreachable (%s)",
                            e.qualification_id, code)
                return 0
            log.warning("thread update for qualification %d not posted (%s); trying again in %s", e.qualification_id,
                        code, RETRY)
            with self.services.sessions.begin() as s:
                # Told nothing after all: the same activities come back in one update after a short pause.
                store.advance_updates(s, store.Engaging(e.qualification_id, e.lead_id, rows[-1][0], cooldown),
                                      e.seen_activity_id, now + RETRY)
            return 0
        metrics.follow_through("update")
        return 1

    # --- Notes the posted brief does not show --------------------------------------------------------

    def notes(self, now: datetime) -> int:
        """Post in their brief's thread the notes it does not show (notes.thread_notes). Looked for when a note
        was stored or a brief posted since the last look, and at least once a minute (a claim that ran out)."""
        with self.services.sessions() as s:
            newest = lead_store.newest_note_id(s)
            seen = self._notes_seen
            # A brief recorded as sent just before the last look may have committed just after it.
            due = (seen is None or newest != seen[0] or now - seen[1] >= FULL_SCAN_EVERY or now < seen[1]
                   or bool(store.posted_since(s, seen[1] - NOTES_OVERLAP)))
        if not due:
            return 0
        self._notes_seen = (newest, now)
        return self._guarded("notes", "threads", thread_notes, self.services, self.client,
                             now - domain.THREAD_UPDATE_HORIZON)

    # --- Quiet mode: daily digests ---------------------------------------------------------------------

    def digests(self, now: datetime) -> int:
        self._release_hand_raisers(now)
        with self.services.sessions() as s:
            users = store.digest_users(s, now)
        return sum(self._guarded("digest", u, self._digest, u, now) for u in users)

    def _release_hand_raisers(self, now: datetime) -> None:
        """Quiet mode never holds a hand-raiser: a held lead who asks for sales is posted at once."""
        rules = self.services.settings.rules
        released = False
        with self.services.sessions.begin() as s:
            for delivery_id, lead_id, since in store.held(s):
                hot = store.hot_kinds_since(s, lead_id, since, domain.HOT_KINDS)
                if any(domain.is_high_intent(a, rules) for a in hot):
                    released = store.release(s, delivery_id, now) or released
        if released:
            self.services.wake_delivery()

    def _digest(self, user_id: str, now: datetime) -> int:
        with self.services.sessions.begin() as s:
            ids = store.take_digest(s, user_id, now, self.worker_id, self.lease)
        if not ids:
            return 0
        with self.services.sessions() as s:
            items = store.digest_cards(s, ids)
            route = self._route(s, user_id)
        route = self._safe(route, user_id)
        msg = render_digest(items, user_id)
        # The rep's route may be archived or without the bot: their DM next, then the team queue.
        places = list(dict.fromkeys(c for c in (route, user_id, self.queue) if c))
        try:
            for place in places:
                try:
                    resp = send(self.client.chat_postMessage, msg, channel=place, unfurl_links=False,
                                unfurl_media=False)
                    break
                except SlackApiError as exc:
                    if error_code(exc) not in UNREACHABLE or place == places[-1]:
                        raise
                    log.warning("digest for %s: %s is unreachable (%s); trying the next place", user_id, place,
                                error_code(exc))
        except (SlackApiError, OSError) as exc:
            later = SLOW_RETRY if error_code(exc) in PERMANENT | UNREACHABLE else RETRY
            log.warning("digest for %s not posted (%s); trying again in %s", user_id, error_code(exc), later)
            with self.services.sessions.begin() as s:
                store.digest_failed(s, ids, now + later)
            metrics.follow_through("failed")
            return 0
        metrics.follow_through("digest")
        tz = self._tz(user_id)
        with self.services.sessions.begin() as s:
            store.digest_sent(s, ids, now, resp["channel"], resp["ts"])
            for d, card, _ in items:
                # The clock starts when the digest is posted: the rep chose not to be paged before.
                store.start_clock(s, d.qualification_id, user_id,
                                  self.policy.due(card.reason, now, tz))
        return 1

    def _route(self, session: Session, user_id: str) -> str:
        """The rep's own channel (the rule deliver follows, briefs.routing), else their DM."""
        email = self.services.slack.directory.email_of(user_id) if self.services.slack else None
        stored = lead_store.get_route(session, email)
        return rep_route(stored, self.services.settings.slack_routes.get(email) if email else None) or user_id

    def _safe(self, route: str, user_id: str) -> str:
        """A rep's channel with people outside [access] in it (or not known yet) gets no digest: their DM does."""
        from bot.gateway import MembershipPending, route_problem
        from bot.usecases.deliver import tell_unsafe_route

        if route == user_id or not self.services.slack:
            return route
        try:
            why = route_problem(self.services.slack.access, route)
        except MembershipPending:
            return user_id
        if why:
            tell_unsafe_route(self.services, self.client, user_id, route, why)
            return user_id
        return route

    # --- The loop -------------------------------------------------------------------------------------

    def seconds_to_next(self) -> float:
        with self.services.sessions() as s:
            times = [t for t in (store.next_nudge(s), store.next_digest(s)) if t is not None]
        if not times:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.05, (min(times) - self.now()).total_seconds()))

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.poll_seconds
            try:
                self.run_once()
                wait = self.seconds_to_next()
            except OperationalError:
                log.exception("database unavailable; follow-through retries at the next poll")
            except Exception:
                log.exception("follow-through loop error; continuing")
            self._stop.wait(min(self.min_gap, wait))
            self._wake.wait(max(0.0, wait - self.min_gap))
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="leadbrief-followthrough", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

