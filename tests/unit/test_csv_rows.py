"""CSV import: a row with more cells than the header has an id like any other row (found by tests/test_fuzz.py)."""

from handlers.csv_import import read_csv


def test_a_row_longer_than_the_header_is_read_not_a_crash(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Email,First Name\njon@acme.example,Jon,extra,cells\n", encoding="utf-8")
    (item,) = list(read_csv(path, "leads", {}))
    assert item.event is not None and item.event.lead.email == "jon@acme.example"
    assert item.event.id.startswith("csv:x.csv:")


def test_row_ids_are_the_digest_of_the_sorted_cells(tmp_path):
    import hashlib

    path = tmp_path / "x.csv"
    path.write_text("Email,First Name\njon@acme.example,Jon\n", encoding="utf-8")
    (item,) = list(read_csv(path, "leads", {}))
    cells = {"Email": "jon@acme.example", "First Name": "Jon"}
    assert item.event.id == "csv:x.csv:" + hashlib.sha256(repr(sorted(cells.items())).encode()).hexdigest()[:32]
