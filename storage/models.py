"""SQLAlchemy 2 models. Every timestamp is stored in UTC and read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """SQLite keeps no offset: normalise to UTC on the way in, attach it on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
# BIGINT primary keys autoincrement on PostgreSQL; SQLite only autoincrements INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def FoldedText(length: int):  # noqa: N802 (a type, like String)
    """Folded text compared bytewise ("C" collation on PostgreSQL; SQLite's default): prefix ranges then
    use the B-tree index, whatever the database's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# Delivery.kind of a side delivery beside a qualification's own brief or notice: an owner's copy of a brief that
# went to someone else, and the line telling a lead's rep that it went into another rep's account brief. Every
# read of "the brief's delivery" leaves them out (OWN_DELIVERY).
COPY = "copy"
REP_NOTICE = "rep_notice"
SIDE_KINDS = (COPY, REP_NOTICE)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    company: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(64))
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int | None] = mapped_column(Integer)
    persona: Mapped[str | None] = mapped_column(String(100))
    # Where the lead came from, as the CRM says it (Salesforce LeadSource, "Trade Show", "Web"...).
    lead_source: Mapped[str | None] = mapped_column(String(200))
    # Where sales stands with the lead, as the CRM says it (HubSpot hs_lead_status: "ATTEMPTED_TO_CONTACT"...).
    lead_status: Mapped[str | None] = mapped_column(String(64))
    is_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_since: Mapped[str | None] = mapped_column(String(32))
    nps: Mapped[int | None] = mapped_column(Integer)
    csat: Mapped[int | None] = mapped_column(Integer)
    crm_url: Mapped[str | None] = mapped_column(String(2000))
    # The CRM's do-not-contact and email opt-out flags (None: not known); triage reads them (docs/triage.md).
    do_not_contact: Mapped[bool | None] = mapped_column(Boolean)
    email_opt_out: Mapped[bool | None] = mapped_column(Boolean)
    # Accounts (issue 18, storage/accounts.py): the CRM's account id a source gave, the account the lead is at and
    # how it was matched (crm, domain, name, fuzzy, new, admin: an admin's choice is never matched over).
    crm_account_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_by: Mapped[str | None] = mapped_column(String(16))
    # Customer facts (docs/customers.md). Dates as ISO text (YYYY-MM-DD), like customer_since.
    renewal_date: Mapped[str | None] = mapped_column(String(10))
    arr: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    plan: Mapped[str | None] = mapped_column(String(100))
    csm_email: Mapped[str | None] = mapped_column(String(320))
    former_customer: Mapped[bool | None] = mapped_column(Boolean)
    churned_on: Mapped[str | None] = mapped_column(String(10))
    churn_reason: Mapped[str | None] = mapped_column(String(300))
    open_escalations: Mapped[int | None] = mapped_column(Integer)
    left_company: Mapped[bool | None] = mapped_column(Boolean)
    # Lowercased, accent-free name/company/email for lookups.
    search_text: Mapped[str] = mapped_column(String(1200), default="")
    # Folded name and company (briefs.search.search_fields), for exact and prefix search; bytewise order.
    name_fold: Mapped[str] = mapped_column(FoldedText(420), default="", server_default="", index=True)
    company_fold: Mapped[str] = mapped_column(FoldedText(320), default="", server_default="", index=True)
    # occurred_at of the newest lead.upsert applied: older upserts only fill empty fields.
    profile_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Account(Base):
    """A company several leads may work at (issue 18, docs/accounts.md). A merged account points at the one it
    went into; its leads and domains moved there."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str | None] = mapped_column(String(300), index=True)  # briefs.accounts.normalise_name
    crm_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    owner_email: Mapped[str | None] = mapped_column(String(320))
    owner_by: Mapped[str | None] = mapped_column(String(16))  # admin | rule (set when its first brief was routed)
    merged_into: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountDomain(Base):
    """A registrable domain and its account: learned from leads' addresses, or declared by an admin."""

    __tablename__ = "account_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    declared: Mapped[bool] = mapped_column(Boolean, default=False)


class ContentAsset(Base):
    __tablename__ = "content_assets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # url when known, else "title:<lowercased title>": the same white paper is one asset across sources.
    key: Mapped[str] = mapped_column(String(2100), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    type: Mapped[str | None] = mapped_column(String(100))
    topic: Mapped[str | None] = mapped_column(String(200))


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("source", "source_event_id"),
        # kind in the index: brief lookups filter and count a lead's older activities by kind without
        # touching the table rows.
        Index("ix_activities_lead_id_occurred_at_kind", "lead_id", "occurred_at", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("content_assets.id"))
    campaign: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    form: Mapped[str | None] = mapped_column(String(300))
    comments: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict | None] = mapped_column(Json)
    source: Mapped[str] = mapped_column(String(64))
    source_event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A form comment's reading (briefs.words.as_json): cleaned, its language and facts; read once, at ingestion.
    words: Mapped[dict | None] = mapped_column(Json)


class ProcessedEvent(Base):
    """Idempotency log: one row per (source, event id) ever accepted, whatever the event type."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VisitorLink(Base):
    """A source's user id or anonymous id, and whom it stands for: a lead, or a user id of the same source
    (briefs.identity resolves the chains). One row per (source, kind, id); erasing the lead deletes it."""

    __tablename__ = "visitor_links"
    __table_args__ = (
        UniqueConstraint("source", "kind", "visitor_id"),
        Index("ix_visitor_links_source_user_id", "source", "user_id"),  # who links to a user id (erasure, attach)
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # user_id | anonymous_id
    visitor_id: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(200))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)  # occurred_at of the event that said so


class PendingActivity(Base):
    """An activity naming only a visitor not linked to a lead yet: attached (and deleted from here) when a link
    arrives; bounded by briefs.identity (age, count per visitor)."""

    __tablename__ = "pending_activities"
    __table_args__ = (
        UniqueConstraint("source", "source_event_id"),
        Index("ix_pending_activities_source_user_id", "source", "user_id"),
        Index("ix_pending_activities_source_anonymous_id", "source", "anonymous_id"),
        Index("ix_pending_activities_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_event_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[dict] = mapped_column(Json)  # the validated activity event, as JSON


class Qualification(Base):
    __tablename__ = "qualifications"
    __table_args__ = (
        Index("ix_qualifications_lead_id_status", "lead_id", "status"),
        Index("ix_qualifications_nudge_at", "nudge_at"),
        # Follow-through reads recent briefs and cooldowns that just ended; the stats read by period.
        Index("ix_qualifications_qualified_at", "qualified_at"),
        Index("ix_qualifications_update_after", "update_after"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    # Plain-words detail of the trigger ("lead score crossed 100 (now 110)").
    detail: Mapped[str | None] = mapped_column(String(1000))
    score: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    trigger_event: Mapped[str | None] = mapped_column(String(300))
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    qualified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # open -> claimed/contacted -> closed | not_a_fit; an open one blocks re-qualification.
    status: Mapped[str] = mapped_column(String(16), default="open")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # Slack user id
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contacted_by: Mapped[str | None] = mapped_column(String(64))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_by: Mapped[str | None] = mapped_column(String(320))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Follow-through (bot/followthrough.py). The Slack user the lead is with: reminders mention them.
    rep_user: Mapped[str | None] = mapped_column(String(64))
    # The speed-to-lead clock: due in business time; running -> reminded -> escalated, or met by a claim.
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_state: Mapped[str | None] = mapped_column(String(16))
    # When the follow-through loop must next look at it (a reminder, an escalation, a snooze ending).
    # Scheduled in the database, so a restart loses nothing.
    nudge_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snoozed_by: Mapped[str | None] = mapped_column(String(64))
    reassigned_by: Mapped[str | None] = mapped_column(String(64))
    reassigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The escalation posted to the team queue, kept up to date with the brief.
    escalation_channel: Mapped[str | None] = mapped_column(String(64))
    escalation_ts: Mapped[str | None] = mapped_column(String(32))
    # Thread updates: the newest activity already told to the rep, and the end of the cooldown.
    seen_activity_id: Mapped[int | None] = mapped_column(BigId)
    update_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Triage (briefs.triage, docs/triage.md): what it decided when the lead qualified (page, close, route,
    # digest_line), by which rule, and why in words. None: qualified before triage was wired.
    triage_delivery: Mapped[str | None] = mapped_column(String(16))
    triage_verdict: Mapped[str | None] = mapped_column(String(32))
    triage_category: Mapped[str | None] = mapped_column(String(32))
    triage_rule: Mapped[str | None] = mapped_column(String(64))
    triage_reason: Mapped[str | None] = mapped_column(Text)
    # "This is a real lead": who set the verdict aside, when (the lead was briefed again as a new qualification).
    overridden_by: Mapped[str | None] = mapped_column(String(64))
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Accounts: the lead's account when it qualified, and the account brief this qualification went into instead
    # of a brief of its own (None: it is its own brief, and the account brief when account_id is set).
    account_id: Mapped[int | None] = mapped_column(BigId, index=True)
    account_brief_id: Mapped[int | None] = mapped_column(BigId)
    # A customer's lifecycle episode (at_risk, win_back: the stats count them), and who the brief went to when
    # not the owner (an at-risk renewal's CSM), with the owner copied (briefs/lifecycle.py).
    episode: Mapped[str | None] = mapped_column(String(16))
    deliver_to: Mapped[str | None] = mapped_column(String(320))
    copy_to: Mapped[str | None] = mapped_column(String(320))


class HandoffNote(Base):
    __tablename__ = "handoff_notes"
    __table_args__ = (
        Index("ix_handoff_notes_lead_id_created_at", "lead_id", "created_at"),
        Index("ix_handoff_notes_created_at", "created_at"),  # the recent notes a posted brief may not show
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(64))
    # Who wrote it, in the words the brief labels it with ("CSM", "marketing", "rep"); None: not known.
    author_role: Mapped[str | None] = mapped_column(String(64))
    # How to reach the author: their Slack user id (a /lead note) or email (a lead.note event's author_email).
    author_ref: Mapped[str | None] = mapped_column(String(320))
    # The reply that showed the note in the brief's thread, if one was posted: erasure redacts it.
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    # When a worker (or the /lead note that saved it) took it to post in the brief's thread: another may try
    # again once that is NOTE_CLAIM old and no ts was recorded (the post failed or the process died).
    thread_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """Outbox: a brief waiting to be shown to a rep, written in the qualification's transaction."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_sent_at", "sent_at"),  # briefs just posted, for their first thread update
        UniqueConstraint("qualification_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # One brief (or notice) per qualification, and at most one owner's copy beside it.
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualifications.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict] = mapped_column(Json)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    # Why the brief went to the team queue rather than to the rep ("no owner in the CRM"), if it did.
    queue_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker that has claimed it, until when: another worker takes it over once the lease has run out.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A posting slot booked in that channel (see ChannelSlot) and deferred to: used when it comes round.
    slot_channel: Mapped[str | None] = mapped_column(String(64))
    slot_at: Mapped[float | None] = mapped_column(Float)
    # Quiet mode: held (status "digest") for this rep's next daily digest instead of posted at once.
    digest_user: Mapped[str | None] = mapped_column(String(64))
    # A post that may have gone out (about to be sent, or answered 5xx / cut off): the channel it went to and
    # when it left (Unix seconds). The next attempt, by any worker, looks for it in that channel's history first.
    unclear_channel: Mapped[str | None] = mapped_column(String(64))
    unclear_at: Mapped[float | None] = mapped_column(Float)
    # The newest handoff note the brief shows (0: none yet); notes stored after it go into the brief's thread
    # once it is posted. None: queued before migration 0021 (its notes are left alone).
    notes_through: Mapped[int | None] = mapped_column(BigInteger)
    # `leadbrief outbox retry`: the retry horizon counts from then rather than from created_at.
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "brief" (to the rep, starts follow-through), "notice" (a triage notice: never does) or "copy" (the owner's
    # copy of a brief that went to someone else; beside that brief's own row), and whom a notice or copy is for:
    # "do_not_contact" (marketing ops), a destination (careers...), or the owner's email for a copy.
    kind: Mapped[str] = mapped_column(String(16), default="brief", server_default="brief")
    notice_to: Mapped[str | None] = mapped_column(String(320))


class ChannelSlot(Base):
    """Per-channel pacing shared by every delivery worker: the next free posting time, booked in turn."""

    __tablename__ = "channel_slots"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unix seconds, so that booking is one portable arithmetic UPSERT on SQLite and PostgreSQL.
    next_at: Mapped[float] = mapped_column(Float)
    # When a post to the channel last went out: a brief that comes round late must not follow it too closely.
    last_post_at: Mapped[float | None] = mapped_column(Float)
    # A rep's channel Slack called gone (channel_not_found...): briefs go straight to the team queue until then.
    gone_until: Mapped[float | None] = mapped_column(Float)
    gone_error: Mapped[str | None] = mapped_column(String(64))


class RepRoute(Base):
    """Where a rep wants their briefs: set with `/lead route #channel` or in leadbrief.toml."""

    __tablename__ = "rep_routes"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    set_by: Mapped[str | None] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlackMessage(Base):
    """A follow-through message about a lead (reminder, escalation, thread update...): erasure redacts it."""

    __tablename__ = "slack_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RepPrefs(Base):
    """A rep's own choices: quiet mode (a daily digest of non-urgent leads at digest_time, their time zone)."""

    __tablename__ = "rep_prefs"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00")  # HH:MM
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who looked at or changed what, and when: lookups, notes, buttons, erasures, purges.

    No foreign key to leads: entries outlive the lead. When a lead is forgotten its entries keep only
    lead_ref = "forgotten:<first 16 hex of sha256(email)>" (and lead_id is cleared)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_lead_ref_at", "lead_ref", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A Slack user id ("U0JANE"), or "cli:<os user>".
    actor: Mapped[str] = mapped_column(String(64))
    # "lookup", "search", "note", "claim", "contacted", "not_a_fit", "route", "forget", "purge"...
    action: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[int | None] = mapped_column(BigId)
    # The lead's email at the time (or its "forgotten:..." form).
    lead_ref: Mapped[str | None] = mapped_column(String(320))
    # Short context; never a note's body or other lead data.
    detail: Mapped[str | None] = mapped_column(String(500))


# A qualification's own delivery (its brief or notice), not a side delivery beside it.
OWN_DELIVERY = Delivery.kind.not_in(SIDE_KINDS)
