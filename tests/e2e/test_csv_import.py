"""`leadbrief import`: CSV exports of leads and activities, as a user runs it."""

import os
from pathlib import Path

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


# --- Real export column sets (tests/fixtures/csv/SOURCES.md), as the vendors write them -----------------------


EXPORTS = Path(__file__).parent.parent / "fixtures" / "csv"
OWNERS_TOML = """[owners]
"jane rep" = "jane@ourco.example"     # case, accents and punctuation do not matter
"OMAR REP" = "omar@ourco.example"
"""


def exported(tmp_path, name: str) -> Path:
    # The CLI runs in tmp_path, where it finds leadbrief.toml; the export is copied as is (BOM, CRLF and all).
    (tmp_path / "leadbrief.toml").write_text(OWNERS_TOML, encoding="utf-8")
    target = tmp_path / name
    target.write_bytes((EXPORTS / name).read_bytes())
    return target


def test_hubspot_contacts_export_owner_names_lead_status_and_stage(run, db_url, tmp_path):
    f = exported(tmp_path, "hubspot_contacts.csv")
    proc = run("import", str(f), check_rc=1)
    assert "accepted 5, duplicates 0, rejected 1" in proc.stdout
    assert "rejected line 6: lead.email: is required" in proc.stderr  # the one row without an email
    # The owner named in [owners] resolves; an unknown name warns once (two rows), and never rejects a row.
    assert proc.stderr.count("Inès Moreau") == 1
    assert "warning: owner 'Inès Moreau' is not an email address nor a name in [owners]" in proc.stderr
    assert "2 row(s) imported without an owner" in proc.stderr
    gaelle, data = lead(db_url, "g.perrin@fromagerie-perrin.example")
    assert (gaelle.first_name, gaelle.company, gaelle.title, gaelle.owner_email) == (
        "Gaëlle", "Fromagerie Perrin, SARL", "Responsable achats", "jane@ourco.example")
    assert (gaelle.lifecycle_stage, gaelle.lead_status, gaelle.score, gaelle.lead_source) == (
        "mql", "IN_PROGRESS", 87, "Organic Search")
    juergen, _ = lead(db_url, "j.weiss@weiss-maschinenbau.example")
    assert (juergen.last_name, juergen.owner_email, juergen.lifecycle_stage, juergen.lead_status) == (
        "Weiß", None, "subscriber", None)
    wei, _ = lead(db_url, "zhang.wei@example-cn.example")
    assert (wei.company, wei.title, wei.lead_status) == ("示例科技有限公司", "采购经理", "ATTEMPTED_TO_CONTACT")
    omar, _ = lead(db_url, "omar.haddad@haddad-trading.example")  # an email in the owner column still works
    assert omar.owner_email == "omar@ourco.example" and omar.company == 'Haddad Trading "HT"'
    brief = run("brief", "g.perrin@fromagerie-perrin.example", check_rc=0).stdout
    for shown in ("Gaëlle Perrin", "MQL", "CRM status: In progress", "owner jane@ourco.example",
                  "source: Organic Search"):
        assert shown in brief, shown
    again = run("import", str(f), check_rc=1)
    assert "accepted 0, duplicates 5, rejected 1" in again.stdout


def test_salesforce_lead_report_with_bom_quotes_and_footer(run, db_url, tmp_path):
    f = exported(tmp_path, "salesforce_leads_report.csv")
    proc = run("import", str(f), check_rc=1)
    # The report's footer (copyright, "Generated By") is not a row; the bad email is named.
    assert "accepted 3, duplicates 0, rejected 1" in proc.stdout
    assert "rejected line 5: lead.email: is not an email address" in proc.stderr
    assert "warning: owner 'Lead Queue'" in proc.stderr and "Copyright" not in proc.stderr
    sam, _ = lead(db_url, "sam.rivera@globex.example")
    assert (sam.owner_email, sam.lead_source, sam.lead_status, sam.title) == (
        "jane@ourco.example", "Web", "Working - Contacted", "VP Manufacturing")
    maria, _ = lead(db_url, "mjnunez@industrias-nunez.example")
    assert (maria.first_name, maria.last_name, maria.company, maria.owner_email) == (
        "María José", "Núñez", "Industrias Núñez, S.A. de C.V.", "omar@ourco.example")
    pat, _ = lead(db_url, "pat@initech.example")
    assert pat.owner_email is None and pat.lead_status == "Open - Not Contacted"


def test_pardot_prospect_export_score_owner_and_crm_link(run, db_url, tmp_path):
    f = exported(tmp_path, "pardot_prospects.csv")
    proc = run("import", str(f), check_rc=0)
    assert "accepted 3, duplicates 0, rejected 0" in proc.stdout
    assert "warning: owner 'Ola Nordmann'" in proc.stderr and "1 row(s)" in proc.stderr
    nadia, _ = lead(db_url, "nadia.cherif@clinique-cherif.example")
    assert (nadia.last_name, nadia.title, nadia.score, nadia.owner_email, nadia.lead_source) == (
        "Chérif", "Directrice médicale", 132, "jane@ourco.example", "Website")
    assert nadia.crm_url == "https://acme.my.salesforce.com/00Q5e00000PaRd1EAA"
    kofi, _ = lead(db_url, "kofi@mensah-logistics.example")
    assert (kofi.score, kofi.owner_email, kofi.lead_source) == (45, None, "Webinar")
    brief = run("brief", "nadia.cherif@clinique-cherif.example", check_rc=0).stdout
    assert "score 132" in brief and "owner jane@ourco.example" in brief


def test_owners_table_must_map_names_to_emails(run, tmp_path):
    (tmp_path / "leadbrief.toml").write_text('[owners]\n"Jane Rep" = "Jane"\n', encoding="utf-8")
    f = tmp_path / "x.csv"
    f.write_text("Email,Contact owner\njon@acme.example,Jane Rep\n")
    proc = run("import", str(f))
    assert proc.returncode != 0 and "owners.'Jane Rep' must be an email address" in proc.stderr
