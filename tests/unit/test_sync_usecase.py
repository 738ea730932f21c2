"""The sync use case's bookkeeping, and what a failed ingest means for a webhook's sender (no database)."""

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from bot.usecases.ingest import store_failure
from bot.usecases.sync import Page, SyncError, SyncResult, sync
from briefs.rules import Rules


def never_called():
    raise AssertionError("nothing to store: the database is not used")


def test_pages_without_events_are_counted_and_set_the_resume_token():
    seen = []
    result = sync(never_called, Rules(), [Page([], 2, "T1"), Page([], 0, "T2")], resume_token="T0",
                  progress=lambda r: seen.append((r.pages, r.next_page_token)))
    assert result == SyncResult(ignored=2, pages=2, next_page_token="T2")
    assert seen == [(1, "T1"), (2, "T2")]


def test_unreadable_records_are_counted_apart_from_ignored_ones_and_do_not_stop_the_sync():
    result = sync(never_called, Rules(), [Page([], 1, "T1", skipped=2), Page([], 0, "T2", skipped=1)])
    assert result == SyncResult(ignored=1, skipped=3, pages=2, next_page_token="T2")


def test_a_source_error_carries_the_totals_as_of_the_last_stored_page():
    def pages():
        yield Page([], 1, "T1")
        raise SyncError("Marketo error 1029: Too many jobs in queue", code="1029")

    with pytest.raises(SyncError) as caught:
        sync(never_called, Rules(), pages(), resume_token="T0")
    assert caught.value.code == "1029"
    assert caught.value.result == SyncResult(ignored=1, pages=1, next_page_token="T1")


def test_an_error_before_the_first_page_resumes_where_it_started():
    def pages():
        raise SyncError("cannot reach Marketo")
        yield  # a generator

    with pytest.raises(SyncError) as caught:
        sync(never_called, Rules(), pages(), resume_token="T0")
    assert caught.value.result == SyncResult(next_page_token="T0")


class Orig(Exception):
    sqlstate = "22001"


def test_store_failure_tells_an_outage_from_a_value_the_database_cannot_hold():
    down = store_failure(OperationalError("INSERT", {}, Exception("connection refused")))
    assert down is not None and down.unavailable
    bad = store_failure(DataError("INSERT", {}, Orig("value too long: 'private words'")))
    assert bad is not None and not bad.unavailable
    assert bad.detail == "Orig, SQLSTATE 22001" and "private" not in bad.detail
    assert store_failure(IntegrityError("INSERT", {}, Exception())) is None
    assert store_failure(ValueError()) is None
