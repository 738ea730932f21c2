"""Search candidates for `/lead NAME`, ranked in the database; only the best few hundred reach Python, where
briefs.search gives the final order.

Stages, each bounded by a LIMIT, each filtered by owner under own_leads_only:
1. exact email, name or company (B-tree indexes on the folded name and company);
2. name or company starting with the query (the same indexes, as a range);
3. every word of the query, as a whole word, then as part of a word: PostgreSQL matches with LIKE through the
   pg_trgm GIN index on leads.search_text; SQLite through the FTS5 trigram table lead_search;
4. only when fewer than asked for are strong matches: near misses. Each word in turn may be misspelt (any
   of its trigrams, or two of its letters swapped, will do) while the others must be found; the rows sharing
   the most of its trigrams first (SQLite: bm25; PostgreSQL: a count of the LIKEs that hold, over the rows
   the GIN index gives).

lead_search (SQLite) is kept in step with leads.search_text by triggers (migration 0017): an insert, an
update of search_text and a delete (`leadbrief forget` included) change it in the same transaction.
Without pg_trgm (a database that refused the extension) stages 3 and 4 use plain LIKE, unindexed: slower,
still right.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from briefs.search import Candidate, Scored, enough, query_words, rank, variants

STAGE_LIMIT = 100
WORDS_LIMIT = 200
FUZZY_LIMIT = 200
_TOP = "\U0010ffff"  # sorts after every character: the end of a prefix range

_COLUMNS = ("l.id, l.email, l.first_name, l.last_name, l.title, l.company, l.owner_email, l.name_fold, "
            "l.company_fold")

# pg_trgm's schema per database (None: not installed), read once per engine URL.
_TRGM_SCHEMA: dict[str, str | None] = {}


# Search objects the models do not describe (made by migration 0017): autogenerate leaves them alone.
NOT_IN_MODELS = ("ix_leads_search_text_trgm", "lead_search")


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


class _Fetch:
    def __init__(self, session: Session, owner: str | None):
        self.conn = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.owner = owner
        self.found: dict[int, Candidate] = {}

    def run(self, sql: str, params: dict[str, object], *, fts: bool = False) -> int:
        """Rows of `SELECT <columns> FROM leads l [JOIN lead_search]` + sql, added to what was found."""
        if self.owner is not None:
            sql = sql.replace("WHERE ", "WHERE lower(l.owner_email) = :owner AND ", 1)
            params = {**params, "owner": self.owner}
        source = "lead_search JOIN leads l ON l.id = lead_search.rowid" if fts else "leads l"
        rows = self.conn.execute(text(f"SELECT {_COLUMNS} FROM {source} {sql}"), params).all()  # noqa: S608
        for row in rows:
            if row[0] not in self.found:
                self.found[row[0]] = Candidate(*row)
        return len(rows)


def candidates(session: Session, query: str, want: int, owner: str | None = None) -> list[Scored]:
    """The leads matching the query, ranked (briefs.search.rank); `owner` (lower-cased) keeps only that
    owner's leads, in every query."""
    words = query_words(query)
    if not words:
        return []
    q = " ".join(words)
    f = _Fetch(session, owner)
    email = query.strip().lower()
    f.run("WHERE (l.email = :email OR l.name_fold = :q OR l.company_fold = :q) LIMIT :n",
          {"email": email, "q": q, "n": STAGE_LIMIT})
    if "@" in email and any(c.email.lower() == email for c in f.found.values()):
        return rank(q, f.found.values())  # the email names one lead
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
    ranked = rank(q, f.found.values())
    if enough(ranked) or not long_words:
        return ranked
    short = [w for w in words if len(w) == 2]  # "ag" in "Wayne Brulee AG": the start of a word, as a filter
    if f.sqlite:
        _near_sqlite(f, long_words, short)
    else:
        _near_pg(f, long_words, short)
    return rank(q, f.found.values())


def _near_pg(f: _Fetch, words: list[str], short: list[str]) -> None:
    """As _near_sqlite, with LIKE through the GIN index: each word in turn may be misspelt (any of its
    trigrams, or a swap of two letters, will do), the others must be there; the rows sharing the most of its
    trigrams first. (pg_trgm's word_similarity ranks as well but costs tens of microseconds a row: too slow
    for the thousands of rows a common first name brings.)"""
    def grams_sql(word: str, n: int, params: dict[str, object]) -> tuple[str, str]:
        pieces = [*_grams(word, n), *variants(word)]
        likes = []
        for g in pieces:
            key = f"g{len(params)}"
            params[key] = _like(g)
            likes.append(f"l.search_text LIKE :{key}")
        return "(" + " OR ".join(likes) + ")", " + ".join(f"({x})::int" for x in likes)

    if len(words) == 1:
        params: dict[str, object] = {"n": FUZZY_LIMIT}
        any_gram, shared = grams_sql(words[0].split("@")[0], 4, params)
        f.run(f"WHERE {any_gram} ORDER BY {shared} DESC, length(l.search_text), l.id LIMIT :n", params)
        return
    each = max(STAGE_LIMIT, FUZZY_LIMIT // len(words))
    before = len(f.found)
    for loose in (False, True):
        for i, word in enumerate(words):
            params = {"n": each}
            others = []
            for j, w in enumerate(words):
                if j != i:
                    params[f"w{j}"] = _like(w)
                    others.append(f"l.search_text LIKE :w{j}")
            for k, w in enumerate(short):
                params[f"s{k}"] = _like(" " + w)
                others.append(f"(' ' || l.search_text) LIKE :s{k}")
            any_gram, shared = grams_sql(word, 3, params)
            where = " AND ".join(others if loose else [*others, any_gram])
            # Ties (a typo shares as many trigrams with every look-alike): the shorter text first, as bm25 does.
            f.run(f"WHERE {where} ORDER BY {shared} DESC, length(l.search_text), l.id LIMIT :n", params)
        if len(f.found) > before:
            return


def _near_sqlite(f: _Fetch, words: list[str], short: list[str]) -> None:
    """Each word in turn may be misspelt: any of its trigrams (any two in a row when it is the only word) will
    do, the other words must be there; bm25 puts the rows sharing the most (and the rarest) trigrams first.
    When that finds nothing, the misspelt word may have no trigram left ("laeh" for "leah"): the other words
    alone, still ranked by the word's trigrams."""
    if len(words) == 1:
        word = words[0].split("@")[0]  # an email's domain is shared by many: its local part
        fuzzy = " OR ".join(_phrase(g) for g in [*_grams(word, 4), *variants(word)])
        f.run("WHERE lead_search MATCH :m ORDER BY lead_search.rank LIMIT :n", {"m": fuzzy, "n": FUZZY_LIMIT},
              fts=True)
        return
    each = max(STAGE_LIMIT, FUZZY_LIMIT // len(words))
    before = len(f.found)
    for loose in (False, True):
        for i, word in enumerate(words):
            others = [_phrase(w) for j, w in enumerate(words) if j != i] + [_phrase(" " + w) for w in short]
            grams = [_phrase(g) for g in [*_grams(word), *variants(word)]] + ([others[0]] if loose else [])
            f.run("WHERE lead_search MATCH :m ORDER BY lead_search.rank LIMIT :n",
                  {"m": " AND ".join([*others, "(" + " OR ".join(grams) + ")"]), "n": each}, fts=True)
        if len(f.found) > before:
            return


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
