"""`leadbrief accounts ...` as an admin runs it: list, show, merge, split, declared domains, owner, match; and
`leadbrief report` counting accounts. Against this test's database, as a process."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from tests.integration.test_accounts import contoso_week
from tests.support.factories import Events


def _load(run, tmp_path, events):
    f = tmp_path / f"events-{len(list(tmp_path.iterdir()))}.jsonl"
    f.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    run("ingest", str(f), check_rc=0)


def _id(line: str) -> int:
    m = re.match(r"#(\d+) ", line)
    assert m, line
    return int(m.group(1))


def test_admin_commands(run, tmp_path):
    ev = Events(now=datetime.now(UTC), prefix="cli-acc")
    _load(run, tmp_path, [*contoso_week(ev),
                          ev.upsert("k.nakamura@contoso-japan.example", company="Contoso KK Japan"),
                          ev.upsert("r.singh@fabrikam.example", company="Fabrikam")])
    show = run("accounts", "show", "CONTOSO LTD.", check_rc=0).stdout
    assert "Contoso · 3 people · owner amara.okafor@ourco.example (rule)" in show
    assert "contoso.co.uk, contoso.com" in show
    contoso = _id(show)
    japan = _id(run("accounts", "show", "contoso-japan.example", check_rc=0).stdout)
    assert japan != contoso
    merged = run("accounts", "merge", str(contoso), str(japan), check_rc=0).stdout
    assert f"merged into #{contoso}: 1 leads moved" in merged
    assert "4 people" in run("accounts", "show", "Contoso", check_rc=0).stdout
    split = run("accounts", "split", str(contoso), "k.nakamura@contoso-japan.example", "--name", "Contoso Japan",
                check_rc=0).stdout
    assert "with 1 leads" in split
    assert "Contoso Japan · 1 people" in run("accounts", "show", "Contoso Japan", check_rc=0).stdout
    fabrikam = _id(run("accounts", "show", "fabrikam.example", check_rc=0).stdout)
    run("accounts", "domains", str(fabrikam), "fabrikam-group.example", check_rc=0)
    _load(run, tmp_path, [Events(now=datetime.now(UTC), prefix="cli-acc2").upsert("m.ito@fabrikam-group.example")])
    assert "2 people" in run("accounts", "show", "Fabrikam", check_rc=0).stdout
    run("accounts", "owner", str(fabrikam), "Ben.Keller@ourco.example", check_rc=0)
    assert "owner ben.keller@ourco.example (admin)" in run("accounts", "show", "Fabrikam", check_rc=0).stdout
    assert run("accounts", "show", "Nobody Anywhere", check_rc=1).returncode == 1
    bad = run("accounts", "merge", "999999", str(fabrikam), check_rc=2)
    assert "no account 999999" in bad.stderr
    assert "leads are at an account" in run("accounts", "match", check_rc=0).stdout
    audit = run("audit", check_rc=0).stdout
    assert "account_merge" in audit and "account_split" in audit and "account_owner" in audit
    report = run("report", "--days", "30", check_rc=0).stdout
    assert "Accounts: 1 with a qualified lead, 1 account brief" in report
