"""What the domain reads from a lead's history (briefs.signals): the touch rule, pages, stages, form names."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from briefs.signals import (
    ActivityView,
    LeadView,
    fold,
    is_hand_raiser_form,
    is_notable_page,
    lead_status_label,
    normalise_stage,
    page_key,
    page_label,
    stage_label,
    touch_rows,
    touches,
    url_path,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
d = timedelta


def test_the_issue_example_counts_310_touches_not_400():
    """300 recent downloads, and 100 older views of the pricing page, 10 a day over 10 days."""
    downloads = [("content_download", NOW - d(hours=i), None) for i in range(300)]
    views = [("web_visit", NOW - d(days=20 + day, minutes=minute), "https://www.example.com/pricing")
             for day in range(10) for minute in range(10)]
    assert len(touches(downloads + views)) == 310


def test_a_pages_views_on_one_utc_day_are_one_touch_at_the_latest():
    berlin = timezone(timedelta(hours=1))
    rows = [
        ("web_visit", datetime(2026, 11, 24, 0, 30, tzinfo=berlin), "https://x.example/Pricing/"),  # 23:30 UTC the day before
        ("web_visit", datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "https://x.example/pricing?utm_source=mail"),
        ("web_visit", datetime(2026, 11, 24, 17, 45, tzinfo=UTC), "https://x.example/pricing#plans"),
        ("web_visit", datetime(2026, 11, 24, 12, 0, tzinfo=UTC), "https://x.example/docs"),
        ("web_visit", datetime(2026, 11, 24, 13, 0, tzinfo=UTC), None),  # a visit without a URL: the "" page
        ("web_visit", datetime(2026, 11, 24, 14, 0, tzinfo=UTC), ""),
    ]
    assert sorted(touches(rows)) == [
        datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
        datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 17, 45, tzinfo=UTC),
    ]


def test_our_own_sends_and_unsubscribes_are_not_touches():
    rows = [(kind, NOW, None) for kind in ("email_sent", "email_delivered", "unsubscribe")]
    rows += [("email_open", NOW, None), ("email_open", NOW, None), ("form_submit", NOW - d(days=400), None)]
    assert touches(rows) == [NOW, NOW, NOW - d(days=400)]
    assert touches([]) == []


def test_naive_times_from_an_old_store_still_count():
    naive = datetime(2026, 11, 24, 9, 0)
    assert touches([("web_visit", naive, "/a"), ("web_visit", naive + d(hours=1), "/a")]) == [naive + d(hours=1)]


def test_touch_rows_are_what_the_rule_needs_from_activities():
    acts = [ActivityView(kind="web_visit", occurred_at=NOW, url="https://x.example/a", title="A"),
            ActivityView(kind="chat", occurred_at=NOW - d(days=1))]
    assert touch_rows(acts) == [("web_visit", NOW, "https://x.example/a"), ("chat", NOW - d(days=1), None)]


@pytest.mark.parametrize("url,path", [
    ("https://www.example.com/pricing?plan=team", "/pricing"),
    ("https://www.example.com", ""),
    # Without a scheme, all of it reads as a path (as browsers report it, a URL always has one).
    ("www.example.com/compare/acme-vs-globex#table", "www.example.com/compare/acme-vs-globex"),
    ("https://[::1/broken/path?x=1", "/broken/path"),  # an unclosed IPv6 bracket: urlsplit raises
    ("http://[fe80::1/", "/"),
])
def test_url_path(url, path):
    assert url_path(url) == path


@pytest.mark.parametrize("url,key", [
    ("https://www.example.com/Pricing/", "/pricing"),
    ("https://www.example.com/", "/"),
    ("https://www.example.com", "/"),
    (None, ""),
    ("", ""),
])
def test_page_key(url, key):
    assert page_key(url) == key


@pytest.mark.parametrize("activity,label", [
    (ActivityView("web_visit", NOW, title="  Pricing – Plans for teams  "), "Pricing – Plans for teams"),
    (ActivityView("web_visit", NOW, url="https://x.example/p", properties={"page_title": "From the tracker"}),
     "From the tracker"),
    (ActivityView("web_visit", NOW, url="https://x.example/p", properties={"title": 42}), "P"),
    (ActivityView("web_visit", NOW, url="https://x.example/solutions/widget_tools/caf%C3%A9-pricing.html"),
     "Solutions › Widget tools › Café pricing"),
    (ActivityView("web_visit", NOW, url="https://x.example/"), "Home page"),
    (ActivityView("web_visit", NOW), "a page on the website"),
    (ActivityView("web_visit", NOW, title="   ", url="https://x.example/a/b/c/d"), "B › C › D"),
])
def test_page_label(activity, label):
    assert page_label(activity) == label


def test_a_page_label_is_at_most_120_characters():
    long = ActivityView("web_visit", NOW, title="x" * 500)
    assert page_label(long) == "x" * 120


@pytest.mark.parametrize("url,notable", [
    ("https://x.example/pricing", True),
    ("https://x.example/en/PRICING/enterprise", True),
    ("https://x.example/acme-vs-globex", True),        # "vs" as a word of the path
    ("https://x.example/canvas", False),               # ... not inside one
    ("https://x.example/case-studies/northwind", True),
    ("https://x.example/blog?ref=pricing", False),     # the query is not the page
    ("https://x.example/", False),
    (None, False),
])
def test_is_notable_page(url, notable):
    assert is_notable_page(url, ("pricing", "vs", "case-stud")) is notable


@pytest.mark.parametrize("stage,normal,label", [
    ("MarketingQualifiedLead", "mql", "MQL"),
    ("  Sales_Qualified  Lead ", "sql", "SQL"),
    ("marketing-qualified lead", "mql", "MQL"),
    ("Opportunity", "opportunity", "Opportunity"),
    ("Nurture (cold)", "nurture (cold)", "nurture (cold)"),
    ("", None, None),
    (None, None, None),
])
def test_stages_normalise_and_read_as_labels(stage, normal, label):
    assert normalise_stage(stage) == normal
    assert stage_label(normal) == label


@pytest.mark.parametrize("status,label", [
    ("ATTEMPTED_TO_CONTACT", "Attempted to contact"),
    ("OPEN", "Open"),
    ("IN_PROGRESS_2", "In progress 2"),
    ("Working - Contacted", "Working - Contacted"),
    ("_LEADING", "_LEADING"),
    ("open_deal", "open_deal"),
])
def test_lead_status_label(status, label):
    assert lead_status_label(status) == label


def test_fold_is_for_matching():
    assert fold("  Zoë  O'Brien-Müller ") == "zoe o brien muller"
    assert fold("ＡＢＣ Ｃｏｒｐ") == "abc corp"
    assert fold("first.last@acme.example, (sales)") == "first.last@acme.example sales"


@pytest.mark.parametrize("form,hand_raiser", [
    ("Contact Sales", True),
    ("contact-sales-2026 (EMEA)", True),
    ("Website: Request a Demo!", True),
    ("Démo request", True),
    ("Recontact salesforce sync", False),  # whole words only
    ("Newsletter signup", False),
    ("", False),
    (None, False),
])
def test_is_hand_raiser_form(form, hand_raiser):
    assert is_hand_raiser_form(form, ("contact sales", "request a demo", "demo request")) is hand_raiser


def test_lead_names():
    assert LeadView("ana@x.example", first_name="Ana", last_name="Ruiz").name == "Ana Ruiz"
    assert LeadView("ana@x.example", last_name="Ruiz").greeting_name == "Ruiz"
    assert LeadView("ana@x.example").name == "ana@x.example"
    assert LeadView("ana@x.example").greeting_name == "there"
