"""Search candidates for `/lead NAME`, ranked in the database; only the best few hundred reach Python, where
briefs.search gives the final order.

Stages, each bounded by a LIMIT, each filtered by owner under own_leads_only:
1. exact email, name or company (B-tree indexes on the folded name and company);
2. name or company starting with the query (the same indexes, as a range);
3. every word of the query, as a whole word, then as part of a word: PostgreSQL matches with LIKE through the
   pg_trgm GIN index on leads.search_text; SQLite through the FTS5 trigram table lead_search;
4. unless some lead has every word whole (for a query of one or two words: enough of them to fill the
   list), one letter off: the names and companies that are the
   query with one letter changed, missing, extra or swapped in one word (briefs.search.one_edit_variants; the
   B-tree indexes again, one probe a variant), so that "noemie kal" finds Noémie Kaal beside the Noémie
   Kala… that merely start like it, and "lea beres" finds Lea Beris below the one Lea Beres;
5. only when no lead has every word as typed, or all but one a letter off: near misses (_near), each word in
   turn taken as the misspelt one.

lead_search (SQLite) is kept in step with leads.search_text by triggers (migration 0017): an insert, an
update of search_text and a delete (`leadbrief forget` included) change it in the same transaction.
Then the leads the spelling cannot tell apart, within the first `want`, are ordered by the searching rep
(their own leads first) and by their latest activity (one grouped read of the activities index).

Without pg_trgm (a database that refused the extension) stages 3 and 4 use plain LIKE, unindexed: slower,
still right.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from briefs.search import (
    ALL_WORDS,
    Candidate,
    Scored,
    enough,
    one_edit_variants,
    query_words,
    rank,
    reorder,
    tied,
    variants,
)
from storage.models import Activity, Lead

STAGE_LIMIT = 100
SLIP_WORDS = 2
WORDS_LIMIT = 200
FUZZY_LIMIT = 200
# SQLite: rows the trigram table hands over for near-miss ranking, at most (half that for a one-word query,
# whose runs of letters are the least selective).
NEAR_CAP = 5000
_TOP = "\U0010ffff"  # sorts after every character: the end of a prefix range

_COLUMNS = ("l.id, l.email, l.first_name, l.last_name, l.title, l.company, l.owner_email, l.name_fold, "
            "l.company_fold")

# pg_trgm's schema per database (None: not installed), read once per engine URL.
_TRGM_SCHEMA: dict[str, str | None] = {}


# Search objects the models do not describe (made by migration 0017): autogenerate leaves them alone.
NOT_IN_MODELS = ("ix_leads_search_text_trgm", "lead_search")


# SQLite: the triggers that keep lead_search in step with leads (created by migration 0017). A migration that
# rebuilds leads (an Alembic batch operation on SQLite: a foreign key, a dropped column...) drops them with the
# table: storage.db.upgrade creates any that are missing once the migrations have run, and indexes the leads
# anew (ensure_sqlite_triggers).
SQLITE_TRIGGERS = {
    "lead_search_insert": "CREATE TRIGGER lead_search_insert AFTER INSERT ON leads BEGIN "
    "INSERT INTO lead_search (rowid, search_text) VALUES (new.id, ' ' || new.search_text || ' '); END",
    "lead_search_delete": "CREATE TRIGGER lead_search_delete AFTER DELETE ON leads BEGIN "
    "INSERT INTO lead_search (lead_search, rowid, search_text) VALUES ('delete', old.id, ' ' || old.search_text || ' '); "
    "END",
    "lead_search_update": "CREATE TRIGGER lead_search_update AFTER UPDATE OF search_text ON leads "
    "WHEN old.search_text IS NOT new.search_text BEGIN "
    "INSERT INTO lead_search (lead_search, rowid, search_text) VALUES ('delete', old.id, ' ' || old.search_text || ' '); "
    "INSERT INTO lead_search (rowid, search_text) VALUES (new.id, ' ' || new.search_text || ' '); END",
}


def ensure_sqlite_triggers(conn: Connection) -> list[str]:
    """Create the lead_search triggers that are missing (SQLite, once lead_search exists); their names."""
    if conn.dialect.name != "sqlite":
        return []
    names = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')").scalars())
    if "lead_search" not in names or "leads" not in names:
        return []
    missing = [name for name in SQLITE_TRIGGERS if name not in names]
    for name in missing:
        conn.exec_driver_sql(SQLITE_TRIGGERS[name])
    if missing:  # a later migration may have changed leads meanwhile: index them anew
        conn.exec_driver_sql("INSERT INTO lead_search (lead_search) VALUES ('delete-all')")
        conn.exec_driver_sql("INSERT INTO lead_search (rowid, search_text) SELECT id, ' ' || search_text || ' ' FROM leads")
    return missing


def in_models(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic include_name: False for the search index and the FTS5 table with its shadow tables."""
    return not (name and any(name == n or name.startswith(n + "_") for n in NOT_IN_MODELS))


def trgm_schema(conn: Connection) -> str | None:
    """The schema pg_trgm is installed in (its operators are called qualified: it need not be on the
    search_path), or None."""
    key = conn.engine.url.render_as_string(hide_password=True)
    if key not in _TRGM_SCHEMA:
        _TRGM_SCHEMA[key] = conn.execute(text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'")).scalar()
    return _TRGM_SCHEMA[key]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(s: str) -> str:
    """An FTS5 string (a phrase: a run of trigrams)."""
    return '"' + s.replace('"', '""') + '"'


def _grams(word: str, n: int = 3) -> list[str]:
    """The runs of n characters of a word with a space on each side (the trigram table sees them)."""
    padded = f" {word} "
    return list(dict.fromkeys(padded[i:i + n] for i in range(len(padded) - n + 1)))


def _gram_size(word: str) -> int:
    """How many characters in a row a misspelt word is looked up by: as many as leave at least one run
    untouched by one typo (a typo spoils up to n runs of n), since longer runs are far more selective on a big
    store: five from eight letters on, four from six, else trigrams."""
    return 5 if len(word) >= 8 else 4 if len(word) >= 6 else 3


class _Fetch:
    def __init__(self, session: Session, owner: str | None):
        self.conn = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.owner = owner
        self.found: dict[int, Candidate] = {}

    def run(self, sql: str, params: dict[str, object], *, fts: bool = False, owner: str | None = None) -> int:
        """Rows of `SELECT <columns> FROM leads l [JOIN lead_search]` + sql, added to what was found; only
        `owner`'s (or, under own_leads_only, self.owner's) leads when given."""
        owner = self.owner if self.owner is not None else owner
        if owner is not None:
            sql = sql.replace("WHERE ", "WHERE lower(l.owner_email) = :owner AND ", 1)
            params = {**params, "owner": owner}
        source = "lead_search JOIN leads l ON l.id = lead_search.rowid" if fts else "leads l"
        rows = self.conn.execute(text(f"SELECT {_COLUMNS} FROM {source} {sql}"), params).all()  # noqa: S608
        for row in rows:
            if row[0] not in self.found:
                self.found[row[0]] = Candidate(*row)
        return len(rows)

    def run_with_own(self, sql: str, params: dict[str, object], limit: int, viewer: str | None) -> None:
        """`run`, and when its LIMIT cut the rows short ("john smith": hundreds alike), the viewer's own such
        leads as well: their John Smith is the likeliest meant, and must not be cut off before the ranking."""
        if self.run(sql, params) >= limit and viewer is not None and self.owner is None:
            self.run(sql, params, owner=viewer)


def candidates(session: Session, query: str, want: int, owner: str | None = None,
               viewer: str | None = None) -> list[Scored]:
    """The leads matching the query, ranked (briefs.search.rank); `owner` (lower-cased) keeps only that
    owner's leads, in every query. Leads the spelling cannot tell apart within the first `want` are ordered
    by `viewer` (the searching rep's email, lower-cased: their own first) and then by their latest activity."""
    f = _Fetch(session, owner)
    ranked = _candidates(f, query, want, viewer)
    ids = tied(ranked, want)
    return reorder(ranked, _last_active(f, ids)) if ids else ranked


def _last_active(f: _Fetch, ids: list[int]) -> dict[int, datetime]:
    """Lead id -> its latest activity, for these leads: one probe each of the activities index on lead and
    time (a max per lead, not every activity of every lead grouped)."""
    latest = select(func.max(Activity.occurred_at)).where(Activity.lead_id == Lead.id).scalar_subquery()
    rows = f.conn.execute(select(Lead.id, latest).where(Lead.id.in_(ids))).all()
    return {lead_id: at for lead_id, at in rows if at is not None}


def _candidates(f: _Fetch, query: str, want: int, viewer: str | None) -> list[Scored]:
    words = query_words(query)
    if not words:
        return []
    q = " ".join(words)
    email = query.strip().lower()
    f.run_with_own("WHERE (l.email = :email OR l.name_fold = :q OR l.company_fold = :q) LIMIT :n",
                   {"email": email, "q": q, "n": STAGE_LIMIT}, STAGE_LIMIT, viewer)
    if "@" in email and any(c.email.lower() == email for c in f.found.values()):
        return rank(q, f.found.values(), viewer)  # the email names one lead
    for column in ("name_fold", "company_fold"):
        f.run(f"WHERE l.{column} >= :q AND l.{column} < :top ORDER BY l.{column} LIMIT :n",
              {"q": q, "top": q + _TOP, "n": STAGE_LIMIT})
    long_words = [w for w in words if len(w) >= 3]
    if f.sqlite and long_words:
        whole = " AND ".join(_phrase(f" {w} ") for w in long_words)
        if f.run("WHERE lead_search MATCH :m LIMIT :n", {"m": whole, "n": WORDS_LIMIT}, fts=True) < want:
            part = " AND ".join(_phrase(w) for w in long_words)
            f.run("WHERE lead_search MATCH :m LIMIT :n", {"m": part, "n": WORDS_LIMIT}, fts=True)
    else:
        # PostgreSQL (the GIN index serves LIKE), or words too short for any trigram index: a bounded scan.
        likes = long_words or words
        where = " AND ".join(f"l.search_text LIKE :w{i} ESCAPE '\\'" for i in range(len(likes)))
        f.run(f"WHERE {where} LIMIT :n", {**{f"w{i}": _like(w) for i, w in enumerate(likes)}, "n": WORDS_LIMIT})
    ranked = rank(q, f.found.values(), viewer)
    # Some room left below the leads with every word as typed, for a query of a name's length: the rep may
    # have slipped into another real name ("lea beres" for Lea Beris, beside a Lea Beres), and the names one
    # letter off fill the list below those. A longer query that matched as typed ("jon doe acme widgets") is
    # specific enough, and its variants (a few hundred a word) would cost more than the rest of the search.
    whole = sum(1 for s in ranked if s.tier >= ALL_WORDS)
    slips = whole == 0 or (whole < want and len(words) <= SLIP_WORDS)
    edits = one_edit_variants(q, f.found.values()) if slips else []
    if edits:
        if f.sqlite:
            f.run_with_own("WHERE (l.name_fold IN (SELECT value FROM json_each(:v)) "
                           "OR l.company_fold IN (SELECT value FROM json_each(:v))) LIMIT :n",
                           {"v": json.dumps(edits), "n": WORDS_LIMIT}, WORDS_LIMIT, viewer)
        else:
            # One index probe per variant (LATERAL): `= ANY` of a thousand values costs the planner tens of ms
            # in selectivity estimates, and a join would be hashed over a scan of leads.
            params = {"v": edits, "n": WORDS_LIMIT}
            if f.run(_pg_variants(f.owner is not None), params) >= WORDS_LIMIT and viewer and f.owner is None:
                f.run(_pg_variants(True), params, owner=viewer)  # as run_with_own, the owner inside the probes
        ranked = rank(q, f.found.values(), viewer)
    if enough(ranked) or not long_words:
        return ranked
    short = [w for w in words if len(w) == 2]  # "ag" in "Wayne Brulee AG": the start of a word, as a filter
    _near(f, long_words, short)
    return rank(q, f.found.values(), viewer)


def _pg_variants(owned: bool) -> str:
    """The leads named like any variant (:v), each an index probe; `owned`: only :owner's, inside each probe,
    so that other people's namesakes cannot fill its LIMIT first."""
    own = " AND lower(owner_email) = :owner" if owned else ""
    return ("WHERE l.id IN (SELECT le.id FROM unnest(CAST(:v AS text[])) AS v(x) CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT id FROM leads WHERE name_fold = v.x COLLATE \"C\"{own} UNION ALL "
            f"SELECT id FROM leads WHERE company_fold = v.x COLLATE \"C\"{own} LIMIT :n) le) LIMIT :n")


def _near(f: _Fetch, words: list[str], short: list[str]) -> None:
    """Near misses. Each word in turn may be misspelt: any run of its letters (_gram_size), or the word with
    two letters swapped, will do, while the other words must be there; the rows holding the most of those
    runs come first (then the shorter text). When that finds nothing, the misspelt word may have no run left
    ("laeh" for "leah"): the other words alone, still ranked by the word's runs.

    The index finds the rows (SQLite: lead_search, at most NEAR_CAP; PostgreSQL: LIKE through the GIN index);
    the ranking is a count of plain substring tests, microseconds a row where bm25 or word_similarity cost
    tens."""
    if len(words) == 1:
        local, _at, domain = words[0].partition("@")
        word = local or domain  # an email's domain is shared by many: its local part, unless that is all it has
        _near_query(f, [], word, _grams(word, max(4, _gram_size(word))), variants(word), FUZZY_LIMIT, loose=False,
                    length=len(word), cap=NEAR_CAP // 2)
        return
    each = max(STAGE_LIMIT, FUZZY_LIMIT // len(words))
    before = len(f.found)
    for loose in (False, True):
        for i, word in enumerate(words):
            others = [w for j, w in enumerate(words) if j != i] + [" " + w for w in short]
            _near_query(f, others, word, _grams(word, _gram_size(word)), variants(word), each, loose=loose,
                        length=len(" ".join(words)))
        if len(f.found) > before:
            return


def _near_query(f: _Fetch, others: list[str], word: str, grams: list[str], swapped: list[str], limit: int, *,
                loose: bool, length: int, cap: int = 0) -> None:
    """One near-miss query: rows with every one of `others` and (unless `loose`) any of the pieces; ranked by
    how many pieces they hold (a swapped-letter variant, a whole word, counts three), then by how close
    their name or company is to the query's length, then the shorter text."""
    pieces = [*grams, *swapped]
    # Ranked by trigrams whatever the runs matched by: finer ("acmees" shares "es " with "acmes", not "acme").
    ranked = [*_grams(word, 3), *swapped]
    if not pieces or not ranked:  # nothing of the word to look for ("@acme.example" has no local part)
        return
    params: dict[str, object] = {"n": limit, "cap": cap or NEAR_CAP, "len": length}
    for k, piece in enumerate(ranked):
        params[f"p{k}"] = piece
    padded = "(' ' || l.search_text || ' ')"
    find, least = ("instr", "min") if f.sqlite else ("strpos", "least")
    weight = len(ranked) - len(swapped)
    shared = " + ".join(f"{3 if k >= weight else 1} * ({find}({padded}, :p{k}) > 0)" + ("" if f.sqlite else "::int")
                        for k in range(len(ranked)))
    closest = f"{least}(abs(length(l.name_fold) - :len), abs(length(l.company_fold) - :len))"
    if f.sqlite:
        required = [_phrase(w) for w in others]
        if not loose or not required:
            required.append("(" + " OR ".join(_phrase(p) for p in pieces) + ")")
        params["m"] = " AND ".join(required)
        # A rep who sees only their own leads: filtered inside, before the cap, or theirs may fall outside it.
        mine = " AND rowid IN (SELECT id FROM leads WHERE owner_email = :owner)" if f.owner is not None else ""
        where = f"l.id IN (SELECT rowid FROM lead_search WHERE lead_search MATCH :m{mine} LIMIT :cap)"  # noqa: S608 (our constants; values bound)
    else:
        conditions = []
        for j, w in enumerate(others):
            params[f"w{j}"] = _like(w)
            conditions.append(f"{padded} LIKE :w{j}" if w.startswith(" ") else f"l.search_text LIKE :w{j}")
        if not loose or not conditions:
            for k, piece in enumerate(pieces):
                params[f"l{k}"] = _like(piece)
            conditions.append("(" + " OR ".join(f"l.search_text LIKE :l{k}" for k in range(len(pieces))) + ")")
        where = " AND ".join(conditions)
    f.run(f"WHERE {where} ORDER BY {shared} DESC, {closest}, length(l.search_text), l.id LIMIT :n", params)


def company_totals(session: Session, companies: list[str], owner: str | None = None) -> dict[str, int]:
    """How many leads (the owner's, under own_leads_only) work at each of these folded company names."""
    if not companies:
        return {}
    marks = ", ".join(f":c{i}" for i in range(len(companies)))
    sql = f"SELECT company_fold, count(*) FROM leads WHERE company_fold IN ({marks})"  # noqa: S608
    params: dict[str, object] = {f"c{i}": c for i, c in enumerate(companies)}
    if owner is not None:
        sql += " AND lower(owner_email) = :owner"
        params["owner"] = owner
    rows = session.connection().execute(text(sql + " GROUP BY company_fold"), params).all()
    return {c: n for c, n in rows}
