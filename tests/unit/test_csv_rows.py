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


def test_owner_names_resolve_through_the_table_and_unknown_ones_are_counted_once_each(tmp_path):
    from handlers.csv_import import Owners

    path = tmp_path / "x.csv"
    path.write_text("Email,Lead Owner\na@x.example,Jane  Rep\nb@x.example,JANE REP\nc@x.example,Inès Moreau\n"
                    "d@x.example,ines moreau\ne@x.example,Rep@OurCo.example\nf@x.example,\n", encoding="utf-8")
    owners = Owners({"jane rep": "jane@ourco.example"})
    items = list(read_csv(path, "leads", {}, owners=owners))
    assert [i.errors for i in items] == [[]] * 6  # never a reject for the owner
    assert [i.event.lead.owner_email for i in items] == [
        "jane@ourco.example", "jane@ourco.example", None, None, "rep@ourco.example", None]
    assert list(owners.unresolved.values()) == [("Inès Moreau", 2)]


def test_lead_status_is_not_the_stage(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Email,Lifecycle Stage,Lead Status\na@x.example,Lead,OPEN_DEAL\n", encoding="utf-8")
    (item,) = list(read_csv(path, "leads", {}))
    assert (item.event.lead.lifecycle_stage, item.event.lead.lead_status) == ("Lead", "OPEN_DEAL")


def test_a_report_footer_is_not_a_row_but_a_one_cell_email_row_is(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('Email,First Name,Last Name\njon@acme.example,Jon,Doe\n\n"Confidential Information"\n'
                    "ann@acme.example\n", encoding="utf-8")
    items = list(read_csv(path, "leads", {}))
    assert [i.event.lead.email for i in items] == ["jon@acme.example", "ann@acme.example"]
