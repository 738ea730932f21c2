"""Marketing feedback: what happened to the leads marketing qualified. Pure model and renderers, no I/O.

- qualified: qualifications in the period; posted: their brief was delivered to Slack (or the terminal sink).
- time to claim / first touch: from qualification to Claim / Contacted (medians of those that have one).
- accepted: claimed or contacted and not marked not a fit; not a fit: marked so, grouped by the reason's label.
- source: the lead's lead_source ("unknown" if empty); campaign: see storage.stats ("none" if no activity had one).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from briefs.blocks import MAX_BLOCKS, MAX_FALLBACK, MAX_SECTION, NOT_A_FIT_REASONS, fitted, mrkdwn
from briefs.followup import Status
from briefs.markup import day, fit_mrkdwn, plain, shorten, terminal_safe
from briefs.triage import HELD_BACK

MAX_GROUPS = 15  # per dimension in Slack; the terminal and CSV show them all
UNKNOWN_SOURCE = "unknown"
NO_CAMPAIGN = "none"
OTHER_REASON = "Other"
_LABELS = tuple(label for _, label in NOT_A_FIT_REASONS)


@dataclass(frozen=True)
class StatRow:
    """One qualification, as storage.stats reads it."""

    source: str | None
    campaign: str | None
    qualified_at: datetime
    posted: bool
    claimed_at: datetime | None
    contacted_at: datetime | None
    status: str
    status_reason: str | None
    # Triage (briefs.triage): what it decided (page, close, route, digest_line), its category and rule, and
    # whether someone said "This is a real lead" (the lead was then qualified again, and counted there).
    triage_delivery: str | None = None
    triage_category: str | None = None
    triage_rule: str | None = None
    overridden: bool = False
    episode: str | None = None  # a customer's lifecycle episode: at_risk, win_back (briefs/lifecycle.py)

    @property
    def held_back(self) -> bool:
        """Not paged by triage, and not overridden."""
        return self.triage_delivery in HELD_BACK and not self.overridden




@dataclass(frozen=True)
class TriageCounts:
    """What triage kept from the reps, and how often each rule was overridden (marketing's false positives)."""

    do_not_contact: int = 0
    not_a_fit: tuple[tuple[str, int], ...] = ()  # automatic, by category label, most frequent first
    machine_opens_only: int = 0
    # rule id -> (times it held a lead back, times that was overridden), by rule id
    by_rule: tuple[tuple[str, int, int], ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.do_not_contact or self.not_a_fit or self.machine_opens_only or self.by_rule)


@dataclass(frozen=True)
class Group:
    name: str
    qualified: int
    posted: int
    accepted: int
    not_a_fit: int
    median_to_claim: timedelta | None
    median_to_touch: timedelta | None
    reasons: tuple[tuple[str, int], ...] = ()  # not-a-fit reason labels, most frequent first
    do_not_contact: int = 0  # closed by triage as do not contact
    set_aside: int = 0  # not a person to call (machine opens only), or overridden and qualified again

    @property
    def open(self) -> int:
        return self.qualified - self.accepted - self.not_a_fit - self.do_not_contact - self.set_aside

    def share(self, n: int) -> float:
        return n / self.qualified if self.qualified else 0.0


@dataclass(frozen=True)
class Stats:
    days: int
    since: datetime
    until: datetime
    total: Group
    by_source: tuple[Group, ...] = field(default_factory=tuple)
    by_campaign: tuple[Group, ...] = field(default_factory=tuple)
    triage: TriageCounts = field(default_factory=TriageCounts)
    by_episode: tuple[Group, ...] = field(default_factory=tuple)  # at-risk renewals, win-backs (those seen)


EPISODE_LABELS = {"at_risk": "At-risk renewals", "win_back": "Win-backs"}
AUTOMATIC = "Automatic: "
CATEGORY_LABELS = {"student_or_jobseeker": "Student or job-seeker", "vendor_pitch": "Vendor pitch",
                   "competitor": "Competitor"}


def category_label(category: str | None) -> str:
    return CATEGORY_LABELS.get(category or "", category or "Not a buyer")


def _reason(row: StatRow) -> str:
    if row.triage_category and row.status == Status.NOT_A_FIT and row.triage_delivery == "route":
        return AUTOMATIC + category_label(row.triage_category)
    return reason_label(row.status_reason)


def reason_label(status_reason: str | None) -> str:
    """"No budget: they said next year" -> "No budget"; anything not from the list -> "Other"."""
    text = (status_reason or "").strip()
    for label in _LABELS:
        if text == label or text.startswith(label + ":"):
            return label
    return OTHER_REASON


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def _group(name: str, rows: list[StatRow]) -> Group:
    nofit = [r for r in rows if r.status == Status.NOT_A_FIT and not r.overridden]
    accepted = [r for r in rows if r.status != Status.NOT_A_FIT and (r.claimed_at or r.contacted_at)]
    reasons = Counter(_reason(r) for r in nofit)
    dnc = sum(1 for r in rows if r.status == Status.DO_NOT_CONTACT and not r.overridden)
    aside = sum(1 for r in rows if r.triage_delivery in HELD_BACK and (r.overridden or r.triage_delivery == "digest_line")
                and not (r.claimed_at or r.contacted_at))
    return Group(
        name=name,
        qualified=len(rows),
        posted=sum(r.posted for r in rows),
        accepted=len(accepted),
        not_a_fit=len(nofit),
        median_to_claim=_median([r.claimed_at - r.qualified_at for r in rows if r.claimed_at]),
        median_to_touch=_median([r.contacted_at - r.qualified_at for r in rows if r.contacted_at]),
        reasons=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        do_not_contact=dnc,
        set_aside=aside,
    )


def _triage(rows: list[StatRow]) -> TriageCounts:
    held = [r for r in rows if r.triage_delivery in HELD_BACK]
    categories = Counter(category_label(r.triage_category) for r in held if r.held_back and r.triage_delivery == "route")
    fired: Counter[str] = Counter(r.triage_rule for r in held if r.triage_rule)
    overridden: Counter[str] = Counter(r.triage_rule for r in held if r.triage_rule and r.overridden)
    return TriageCounts(
        do_not_contact=sum(1 for r in held if r.held_back and r.triage_delivery == "close"),
        not_a_fit=tuple(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))),
        machine_opens_only=sum(1 for r in held if r.held_back and r.triage_delivery == "digest_line"),
        by_rule=tuple((rule, n, overridden[rule]) for rule, n in sorted(fired.items())),
    )


def _by(rows: list[StatRow], key: Callable[[StatRow], str]) -> tuple[Group, ...]:
    buckets: dict[str, list[StatRow]] = {}
    for r in rows:
        buckets.setdefault(key(r), []).append(r)
    groups = [_group(name, members) for name, members in buckets.items()]
    return tuple(sorted(groups, key=lambda g: (-g.qualified, g.name.lower(), g.name)))


def build(rows: list[StatRow], days: int, now: datetime) -> Stats:
    return Stats(
        days=days,
        since=now - timedelta(days=days),
        until=now,
        total=_group("All leads", rows),
        by_source=_by(rows, lambda r: (r.source or "").strip() or UNKNOWN_SOURCE),
        by_campaign=_by(rows, lambda r: (r.campaign or "").strip() or NO_CAMPAIGN),
        triage=_triage(rows),
        by_episode=tuple(_group(label, [r for r in rows if r.episode == key])
                         for key, label in EPISODE_LABELS.items() if any(r.episode == key for r in rows)),
    )


# --- formatting -------------------------------------------------------------------------------


def duration_text(value: timedelta | None) -> str:
    """12 min, 3.5 h, 2.0 days; "-" when nothing to measure."""
    if value is None:
        return "-"
    minutes = value.total_seconds() / 60
    if minutes < 90:
        return f"{round(minutes)} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def pct(group: Group, n: int) -> str:
    return f"{round(100 * group.share(n))}%"


def _period(stats: Stats) -> str:
    return f"last {stats.days} days ({day(stats.since)} to {day(stats.until)}, UTC)"


def _summary(g: Group) -> str:
    return (f"{g.qualified} qualified, {g.posted} posted · accepted {g.accepted} ({pct(g, g.accepted)}) · "
            f"not a fit {g.not_a_fit} ({pct(g, g.not_a_fit)}) · open {g.open} · "
            f"median to claim {duration_text(g.median_to_claim)}, to first touch {duration_text(g.median_to_touch)}")


def _reasons(g: Group) -> str:
    return ", ".join(f"{label} {n}" for label, n in g.reasons)


def to_blocks(stats: Stats) -> dict[str, Any]:
    t = stats.total
    title = f"Lead stats, {_period(stats)}"
    if not t.qualified:
        return {"text": f"No leads were qualified in the {_period(stats)}.", "blocks": []}
    blocks = [
        {"type": "section", "text": mrkdwn(f"*{title}*")},
        {"type": "section", "fields": [
            mrkdwn(f"*Leads qualified*\n{t.qualified} ({t.posted} posted)"),
            mrkdwn(f"*Median time to claim*\n{duration_text(t.median_to_claim)}"),
            mrkdwn(f"*Accepted*\n{t.accepted} ({pct(t, t.accepted)})"),
            mrkdwn(f"*Median time to first touch*\n{duration_text(t.median_to_touch)}"),
            mrkdwn(f"*Not a fit*\n{t.not_a_fit} ({pct(t, t.not_a_fit)})"),
            mrkdwn(f"*Still open*\n{t.open} ({pct(t, t.open)})"),
        ]},
    ]
    if t.reasons:
        blocks.append({"type": "section", "text": mrkdwn("*Not a fit, why:* " + _reasons(t))})
    if stats.by_episode:
        blocks.append({"type": "section", "block_id": "stats_customers", "text": mrkdwn(
            "*Customers*\n" + "\n".join(f"• *{g.name}*: {fit_mrkdwn(_summary(g), 600)}" for g in stats.by_episode))})
    if stats.triage.any:
        blocks.append({"type": "section", "block_id": "stats_triage",
                       "text": mrkdwn(fit_mrkdwn("\n".join(triage_lines(stats.triage)), MAX_SECTION, lines=True))})
    for heading, groups in (("By source", stats.by_source), ("By campaign", stats.by_campaign)):
        lines = []
        for g in groups[:MAX_GROUPS]:
            # Names come from the CRM and marketing tools: escaped and shortened here, only our `*` is bold.
            line = f"• *{fit_mrkdwn(plain(g.name), 200)}*: {fit_mrkdwn(_summary(g), 600)}"
            if g.reasons:
                line += f" · why not: {fit_mrkdwn(_reasons(g), 400)}"
            lines.append(line)
        if len(groups) > MAX_GROUPS:
            lines.append(f"…and {len(groups) - MAX_GROUPS} more (`leadbrief report` lists them all)")
        blocks.append(fitted(f"*{heading}*\n", lines))
    blocks.append({"type": "context", "elements": [mrkdwn(
        "Times run from qualification to Claim and to Contacted. Accepted: claimed or contacted. "
        "Source: the CRM's lead source; campaign: the lead's last campaign before qualifying.")]})
    fallback = shorten(f"{title}: {_summary(t)}", MAX_FALLBACK)
    return {"text": fallback, "blocks": blocks[:MAX_BLOCKS]}


COLUMNS = ("dimension", "name", "qualified", "posted", "accepted", "accepted_pct", "not_a_fit", "not_a_fit_pct",
           "open", "median_minutes_to_claim", "median_minutes_to_first_touch", "not_a_fit_reasons")


def _minutes(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def table(stats: Stats) -> list[list[str]]:
    """Rows for CSV (after the COLUMNS header): the total, then each source, then each campaign."""
    out = []
    for dimension, groups in (("total", (stats.total,)), ("source", stats.by_source), ("campaign", stats.by_campaign),
                              ("customer_episode", stats.by_episode)):
        for g in groups:
            out.append([dimension, g.name, str(g.qualified), str(g.posted), str(g.accepted),
                        f"{100 * g.share(g.accepted):.1f}", str(g.not_a_fit), f"{100 * g.share(g.not_a_fit):.1f}",
                        str(g.open), _minutes(g.median_to_claim), _minutes(g.median_to_touch),
                        "; ".join(f"{label}={n}" for label, n in g.reasons)])
    return out


def triage_lines(counts: TriageCounts) -> list[str]:
    """Plain lines (escaped by the caller): what triage kept from the reps, and overrides by rule."""
    lines = [f"Not paged by triage: {counts.do_not_contact} closed as do not contact · "
             f"{sum(n for _, n in counts.not_a_fit)} automatic not a fit"
             + (f" ({', '.join(f'{label} {n}' for label, n in counts.not_a_fit)})" if counts.not_a_fit else "")
             + f" · {counts.machine_opens_only} on machine opens only"]
    if counts.by_rule:
        lines.append("Overrides by rule (\"This is a real lead\"): " + ", ".join(
            f"{rule} {overridden} of {n} ({100 * overridden / n:.0f}%)" for rule, n, overridden in counts.by_rule))
    return lines


def to_text(stats: Stats) -> str:
    """A plain-text report for the terminal (names stripped of control characters)."""
    t = stats.total
    lines = [f"Lead stats, {_period(stats)}"]
    if not t.qualified:
        return lines[0] + "\nNo leads were qualified in this period."
    lines += [
        f"  leads qualified            {t.qualified} ({t.posted} posted)",
        f"  accepted                   {t.accepted} ({pct(t, t.accepted)})",
        f"  not a fit                  {t.not_a_fit} ({pct(t, t.not_a_fit)})",
        f"  still open                 {t.open} ({pct(t, t.open)})",
        f"  median time to claim       {duration_text(t.median_to_claim)}",
        f"  median time to first touch {duration_text(t.median_to_touch)}",
    ]
    if t.reasons:
        lines.append(f"  not a fit, why             {_reasons(t)}")
    for g in stats.by_episode:
        lines.append(f"  {g.name.lower():<26} {_summary(g)}")
    if stats.triage.any:
        lines += ["  " + terminal_safe(line) for line in triage_lines(stats.triage)]
    header = f"  {'name':<30} {'qual':>5} {'post':>5} {'accepted':>10} {'not a fit':>10} {'open':>5} " \
             f"{'to claim':>10} {'to touch':>10}  why not"
    for heading, groups in (("By source", stats.by_source), ("By campaign", stats.by_campaign)):
        lines += ["", heading, header]
        for g in groups:
            name = shorten(terminal_safe(g.name).replace("\n", " "), 30)
            lines.append(
                f"  {name:<30} {g.qualified:>5} {g.posted:>5} {f'{g.accepted} {pct(g, g.accepted)}':>10} "
                f"{f'{g.not_a_fit} {pct(g, g.not_a_fit)}':>10} {g.open:>5} {duration_text(g.median_to_claim):>10} "
                f"{duration_text(g.median_to_touch):>10}  {_reasons(g)}".rstrip())
    return "\n".join(lines)
