"""`leadbrief import`: CSV exports of leads and activities, as a user runs it."""

import os

from storage import queries
from storage.db import make_engine, make_sessionmaker

LEADS = """Email Address,First Name,Last Name,Job Title,Company Name,Lead Owner,Lifecycle Stage,Lead Score,Is Customer,NPS
 Jon.Doe@Acme.example ,Jon,Doe,Director of Operations,Acme Widgets,jane@ourco.example,lead,40,no,
dana@initrode.example,Dana,Kim,Head of IT,Initrode,jane@ourco.example,customer,,yes,3
broken-email,Bad,Row,,,,,,,
kim@hooli.example,Kim,Lee,CTO,Hooli,,,lots,,
"""

ACTIVITIES = """email;type;date;asset title;asset type;campaign;form;comments
jon.doe@acme.example;content_download;2026-11-20T10:00:00Z;The Lifecycle of a Widget;infographic;ROI;;
jon.doe@acme.example;web_visit;2026-11-21 09:30:00;;;;;
jon.doe@acme.example;telepathy;2026-11-21 09:31:00;;;;;
sam@globex.example;form_submit;11/22/2026 14:05;;;;Contact Sales;We need widgets for 40 plants this quarter.
"""

PARDOT = """Prospect Email,Type,Created At,Details
pat@initech.example,11,2026-11-20 10:00:00,Widget newsletter
pat@initech.example,2,2026-11-20 10:05:00,https://ourco.example/pricing
pat@initech.example,99,2026-11-20 10:06:00,something we do not use
"""


def lead(db_url, email):
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            found = queries.find_lead(s, email)
            return None if found is None else (found, queries.brief_input(s, found, found.updated_at))
    finally:
        engine.dispose()


def test_leads_csv_maps_common_headers_and_names_bad_rows(run, db_url, tmp_path):
    f = tmp_path / "leads.csv"
    f.write_text(LEADS)
    first = run("import", str(f), check_rc=1)
    assert "accepted 2, duplicates 0, rejected 2" in first.stdout
    assert "rejected line 4: lead.email: is not an email address" in first.stderr
    assert "rejected line 5: score: 'lots' is not a number" in first.stderr
    jon, _ = lead(db_url, "jon.doe@acme.example")
    assert (jon.first_name, jon.title, jon.company, jon.owner_email, jon.score) == (
        "Jon", "Director of Operations", "Acme Widgets", "jane@ourco.example", 40)
    dana, _ = lead(db_url, "dana@initrode.example")
    assert dana.is_customer is True and dana.nps == 3 and dana.lifecycle_stage == "customer"
    # Re-running the same file changes nothing; an edited row is applied.
    again = run("import", str(f), check_rc=1)
    assert "accepted 0, duplicates 2, rejected 2" in again.stdout
    f.write_text(LEADS.replace("Acme Widgets", "Acme Widgets Inc"))
    os.utime(f, None)
    assert "accepted 1, duplicates 1" in run("import", str(f), check_rc=1).stdout
    assert lead(db_url, "jon.doe@acme.example")[0].company == "Acme Widgets Inc"


def test_activities_csv_with_semicolons_and_a_hand_raiser(run, db_url, tmp_path):
    f = tmp_path / "activities.csv"
    f.write_text(ACTIVITIES)
    proc = run("import", str(f), "--kind", "activities", check_rc=1)
    assert "accepted 3, duplicates 0, rejected 1" in proc.stdout
    assert "rejected line 4: kind: got 'telepathy'" in proc.stderr
    _, data = lead(db_url, "jon.doe@acme.example")
    kinds = sorted(a.kind for a in data.activities)
    assert kinds == ["content_download", "web_visit"]
    assert next(a for a in data.activities if a.kind == "content_download").title == "The Lifecycle of a Widget"
    _, sam = lead(db_url, "sam@globex.example")
    assert sam.activities[0].comments == "We need widgets for 40 plants this quarter."
    assert sam.activities[0].occurred_at.isoformat() == "2026-11-22T14:05:00+00:00"


def test_pardot_type_codes_and_explicit_mapping(run, db_url, tmp_path):
    f = tmp_path / "pardot.csv"
    f.write_text(PARDOT)
    proc = run("import", str(f), "--kind", "activities", "--types", "pardot", "--map", "Prospect Email=email",
               "--map", "Created At=occurred_at", check_rc=0)
    assert "accepted 2, duplicates 0, rejected 0, skipped 1 (types not used)" in proc.stdout
    _, data = lead(db_url, "pat@initech.example")
    assert sorted(a.kind for a in data.activities) == ["email_open", "web_visit"]


def test_missing_columns_and_bad_mappings_are_clear_errors(run, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("Name,Company\nJon,Acme\n")
    proc = run("import", str(f), check_rc=1)
    assert "no email column among Name, Company; map one with --map" in proc.stderr
    proc = run("import", str(f), "--map", "Name=nickname", check_rc=2)
    assert "--map 'Name=nickname': expected" in proc.stderr
    f.write_text("email\njon@acme.example\n")
    assert "no kind column" in run("import", str(f), "--kind", "activities", check_rc=1).stderr
