"""How `/lead NAME` ranks leads: the folded search fields a lead is stored with, and the final score of each
candidate the database hands back (storage.search fetches only the best few hundred).

Ranking, best first:
1. exact: the query is the lead's email, name, company, or name and company together (either order);
2. prefix: one of those starts with the query followed by a space: every word typed whole ("jon doe acme");
3. every word of the query is a word of the lead (in any order, name and company mixed: "doe acme jon");
4. one edit: every word of the query is a word of the lead but one, which is one letter off (changed, missing,
   extra or two swapped) from one of the lead's words ("noemie kal" for Noémie Kaal, Kala or Kalo): a rep's
   slip ranks above names that merely start like what was typed, unless some lead has every word as typed
   (then the slips rank with the partial matches, by how likely they are: "anna" shows Annabelle before Anne);
5. partial prefix: one of those fields starts with the query, its last word unfinished ("acme wid", "jon do");
6. near misses: each query word scored against the lead's words (exact 1, prefix 0.9, one typo 0.75, two
   typos 0.6, inside a word 0.5), averaged: every word counts.

Accents and case never matter (everything is folded with briefs.signals.fold). Within a tier, the closest
field (least left over after the query, its slip corrected) comes first. That is all the spelling can say
(`Scored.spelling`). Leads it cannot tell apart ("lea beres": Lea Beris, Beren, Berer and Berez are each one
letter off, each as likely) are ordered by what the rep would mean: their own leads first, then the lead most
recently active (the lead whose brief they just had), then the name. Context never outranks spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from briefs.signals import fold

EXACT, PREFIX, ALL_WORDS, ONE_EDIT, PARTIAL, NEAR = 5, 4, 3, 2, 1, 0
# A near miss below this average is not shown.
MIN_NEAR = 0.55
_EMAIL_PARTS = re.compile(r"[@._+\-]+")


@dataclass(frozen=True)
class SearchFields:
    """What a lead is searched by, folded: kept in step with the lead on every write (storage)."""

    search_text: str  # name, company and email together: what the trigram indexes cover
    name_fold: str
    company_fold: str


def company_key(company: str | None) -> str:
    """A company's folded name: how search groups and counts the people of one company."""
    return fold(company or "")[:320]


def search_fields(first: str | None, last: str | None, company: str | None, email: str) -> SearchFields:
    name = fold(" ".join(p for p in (first, last) if p))
    company_f = company_key(company)
    text = " ".join(p for p in (name, company_f, fold(email)) if p)
    return SearchFields(text[:1200], name[:420], company_f)


def query_words(query: str) -> list[str]:
    """The folded words of a query, without repeats (in order)."""
    return list(dict.fromkeys(fold(query).split()))


def typos_allowed(word: str) -> int:
    """Letters a word may have wrong: none under 3 letters, one up to 5, two from 6 on."""
    return 0 if len(word) < 3 else 1 if len(word) <= 5 else 2


@dataclass(frozen=True)
class Candidate:
    """A lead as the search reads it."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    title: str | None
    company: str | None
    owner_email: str | None
    name_fold: str
    company_fold: str


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    tier: int
    score: float  # average word score, 0..1
    closeness: float  # 0..1: how like the query the closest field is, as a whole (rapidfuzz ratio)
    company_matched: bool  # the query named the company (all its words found among the company's)
    verbatim: bool = False  # typed as stored, accents included (a tie-break between folded twins)
    reading: str = ""  # ONE_EDIT: the query as this lead reads it, the slip corrected ("noemie kaal")
    mine: bool = False  # the searching rep owns this lead

    @property
    def spelling(self) -> tuple[int, float, bool, float]:
        """All the query's spelling says of this lead, best first: leads equal in it cannot be told apart by
        what was typed."""
        return (-self.tier, -round(self.score, 4), not self.verbatim, -round(self.closeness, 4))


# Leads with no activity on record sort after every active one.
_NEVER = float("inf")


def _key(s: Scored, last_active: Mapping[int, datetime]) -> tuple[object, ...]:
    c = s.candidate
    seen = last_active.get(c.id)
    return (*s.spelling, not s.mine, -seen.timestamp() if seen else _NEVER, c.name_fold or c.email, c.id)


def _email_words(email: str) -> list[str]:
    local, _, domain = email.partition("@")
    return [w for w in _EMAIL_PARTS.split(local) if w] + [w for w in _EMAIL_PARTS.split(domain)[:1] if w]


def word_score(word: str, words: Iterable[str]) -> float:
    """How well one query word matches the best of a lead's words."""
    best = 0.0
    allowed = typos_allowed(word)
    for w in words:
        if word == w:
            return 1.0
        if w.startswith(word):
            best = max(best, 0.9)
            continue
        if allowed:
            d = OSA.distance(word, w, score_cutoff=allowed)
            if d <= allowed:
                best = max(best, 0.75 if d == 1 else 0.6)
                continue
            # A typo in what was typed so far of a longer word: "widgt" for "widgetry".
            if len(w) > len(word) and len(word) >= 4:
                d = OSA.distance(word, w[:len(word)], score_cutoff=1)
                if d <= 1:
                    best = max(best, 0.65)
                    continue
        if len(word) >= 3 and word in w:
            best = max(best, 0.5)
    return best


def slip(typed: str, word: str) -> float:
    """How likely one letter off is a slip of the keyboard (typed for word, at OSA distance 1): two letters
    swapped, or a doubled letter typed single or a single one doubled, are the commonest (1.0); a letter
    changed, missing or extra elsewhere, or the first two swapped, 0.5; the first letter wrong, rarest, 0.25."""
    if len(typed) == len(word):
        k = next(i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b)
        if k + 1 < len(word) and typed[k] == word[k + 1] and typed[k + 1] == word[k]:
            return 1.0 if k else 0.5  # the first two swapped: the first letter is wrong, rarer
    else:
        short, long = sorted((typed, word), key=len)
        k = next((i for i, (a, b) in enumerate(zip(short, long, strict=False)) if a != b), len(short))
        if (k > 0 and long[k] == long[k - 1]) or (k + 1 < len(long) and long[k] == long[k + 1]):
            return 1.0
    return 0.25 if typed[:1] != word[:1] else 0.5


def _one_edit(words: Sequence[str], per_word: Sequence[float], lead_words: Sequence[str]) -> tuple[float, str] | None:
    """Every word is one of the lead's words but one, which is one letter off one of them (OSA distance 1):
    how likely that is a slip (see `slip`) and the query with the slip corrected, else None."""
    off = [w for w, s in zip(words, per_word, strict=True) if s < 1.0]
    if len(off) != 1 or not typos_allowed(off[0]):
        return None
    best = max(((slip(off[0], w), w) for w in lead_words if OSA.distance(off[0], w, score_cutoff=1) == 1),
               default=None)
    if best is None:
        return None
    return best[0], " ".join(best[1] if w == off[0] else w for w in words)


def score(query: str, c: Candidate, typed: str = "", viewer: str | None = None) -> Scored | None:
    """The candidate's rank for the query (already folded; `typed`: as typed, lower-cased), or None when it
    is too far off. `viewer`: the searching rep's email, lower-cased (their own leads win ties)."""
    words = query.split()
    if not words:
        return None
    email = c.email.lower()
    fields = list(dict.fromkeys(f for f in (c.name_fold, c.company_fold, email, fold(email)) if f))
    if c.name_fold and c.company_fold:
        fields += [f"{c.name_fold} {c.company_fold}", f"{c.company_fold} {c.name_fold}"]
    name_words = c.name_fold.split()
    company_words = c.company_fold.split()
    lead_words = [*name_words, *company_words, *_email_words(email), email]
    per_word = [word_score(w, lead_words) for w in words]
    mean = sum(per_word) / len(per_word)
    company_matched = bool(company_words) and all(word_score(w, company_words) >= 0.75 for w in words)
    closeness = max((fuzz.ratio(query, f) / 100 for f in fields), default=0.0)
    verbatim = bool(typed) and typed in (" ".join(p for p in (c.first_name, c.last_name) if p).lower(),
                                         (c.company or "").lower(), email)
    mine = viewer is not None and (c.owner_email or "").lower() == viewer
    if query in fields:
        return Scored(c, EXACT, mean, closeness, company_matched, verbatim, mine=mine)
    if any(f.startswith(query + " ") for f in fields):
        return Scored(c, PREFIX, mean, closeness, company_matched, verbatim, mine=mine)
    if all(s == 1.0 for s in per_word):
        return Scored(c, ALL_WORDS, mean, closeness, company_matched, verbatim, mine=mine)
    edit = _one_edit(words, per_word, lead_words)
    if edit is not None:
        # Scored by how likely the slip is, not as a prefix ("kal" for "kala" is no better than for "kaal"),
        # then by what is left over once the slip is corrected: the rep who typed "lea beres" wrote all of
        # Lea Beris and of Lea Bere, and less of Lea Beris-Martin.
        corrected = max((fuzz.ratio(edit[1], f) / 100 for f in fields), default=0.0)
        return Scored(c, ONE_EDIT, (len(words) - 1 + edit[0]) / len(words), corrected, company_matched, verbatim,
                      edit[1], mine)
    if any(f.startswith(query) for f in fields):
        return Scored(c, PARTIAL, mean, closeness, company_matched, verbatim, mine=mine)
    if mean < MIN_NEAR:
        return None
    return Scored(c, NEAR, mean, closeness, company_matched, verbatim, mine=mine)


def rank(query: str, candidates: Iterable[Candidate], viewer: str | None = None,
         last_active: Mapping[int, datetime] | None = None) -> list[Scored]:
    """The candidates worth showing, best first (each lead once). `viewer` (lower-cased email) and
    `last_active` (lead id -> its latest activity) order the leads the spelling cannot tell apart."""
    q = " ".join(query_words(query))
    typed = " ".join(query.lower().split())
    seen: set[int] = set()
    found = []
    for c in candidates:
        if c.id in seen:
            continue
        seen.add(c.id)
        s = score(q, c, typed, viewer)
        if s is not None:
            found.append(s)
    if any(s.tier >= ALL_WORDS for s in found):
        # Some lead has every word as typed: the rep most likely typed what they meant, and a name that starts
        # like it ("anna": Annabelle) is likelier than one a letter off (Anne, Hanna). The slips come after
        # those, as partial matches ranked by how likely the slip is (below any name typed in full so far).
        found = [replace(s, tier=PARTIAL) if s.tier == ONE_EDIT else s for s in found]
    return reorder(found, last_active or {})


def reorder(found: Iterable[Scored], last_active: Mapping[int, datetime]) -> list[Scored]:
    """Scored leads in their final order: by spelling, then the rep's own, then the most recently active."""
    ordered = sorted(found, key=lambda s: _key(s, last_active))
    return _each_reading_once_first(ordered)


def tied(ranked: Sequence[Scored], want: int, cap: int = 1000) -> list[int]:
    """Ids of the leads whose order the spelling leaves open within the first `want`: every lead that spells
    as well as one of those, two or more alike (at most `cap`). Their latest activity decides (reorder)."""
    shown = {s.spelling for s in ranked[:want]}
    alike: dict[tuple[int, float, bool, float], list[int]] = {}
    for s in ranked:
        if s.spelling in shown:
            alike.setdefault(s.spelling, []).append(s.candidate.id)
    return [i for ids in alike.values() if len(ids) > 1 for i in ids][:cap]


def _each_reading_once_first(found: list[Scored]) -> list[Scored]:
    """Among one-letter misses, one lead per reading of the query first, then the rest in the same order: each
    reading is a guess at what the rep meant ("lea beres": Lea Beren? Lea Beris?), and ten namesakes of the
    likeliest guess would hide the others."""
    slips = [s for s in found if s.tier == ONE_EDIT]
    if len(slips) < 2:
        return found
    seen: set[str] = set()
    first: list[Scored] = []
    rest: list[Scored] = []
    for s in slips:
        (rest if s.reading in seen else first).append(s)
        seen.add(s.reading)
    start = found.index(slips[0])
    return found[:start] + first + rest + found[start + len(slips):]


def enough(found: Sequence[Scored]) -> bool:
    """Whether the near-miss pass can be skipped: some lead has every word of the query as a word, or all but
    one which is one letter off (one_edit_variants finds those cheaply). Lead names that merely start like a
    word ("kal": Kalo, Kaladoe) are not enough: the rep may have meant Kaal. On a big store that pass costs
    more than all the others."""
    return any(s.tier >= ONE_EDIT for s in found)


# Letters a one-letter slip may put in (folded text: accents are gone, these letters stay).
_LETTERS = "abcdefghijklmnopqrstuvwxyz\u00f8\u00e6\u00df\u0153\u0142\u0111\u00fe"
_DIGITS = "0123456789"


def one_edit_variants(query: str, found: Iterable[Candidate] = ()) -> list[str]:
    """The folded query with one letter off in one of its words of 3+ letters (changed, missing, extra, two
    swapped): looked up as whole names and companies (an index probe each), so that a slip in a short word
    finds the lead even where no run of its letters is left ("noa ois" for Nora Öis). Words that some of the
    leads `found` so far have whole are taken as typed, unless that leaves none to vary."""
    words = query_words(query)
    whole = {w for c in found for w in (*c.name_fold.split(), *c.company_fold.split())}
    vary = {w for w in words if typos_allowed(w) and w not in whole} or {w for w in words if typos_allowed(w)}
    out: dict[str, None] = {}
    for i, word in enumerate(words):
        if word not in vary:
            continue
        letters = _LETTERS + (_DIGITS if any(ch.isdigit() for ch in word) else "")
        letters += "".join(ch for ch in dict.fromkeys(word) if ch not in letters)
        edits: list[str] = [word[:k] + word[k + 1:] for k in range(len(word))]
        edits += [word[:k] + word[k + 1] + word[k] + word[k + 2:] for k in range(len(word) - 1)]
        for k in range(len(word) + 1):
            edits += [word[:k] + ch + word[k:] for ch in letters]
            if k < len(word):
                edits += [word[:k] + ch + word[k + 1:] for ch in letters if ch != word[k]]
        for e in edits:
            if e and e != word:
                out[" ".join([*words[:i], e, *words[i + 1:]])] = None
    return list(out)


def variants(word: str) -> list[str]:
    """The word with two neighbouring letters swapped, each way: a swap in a short word leaves none of its
    trigrams ("lbas" for "labs"), so these are looked up as they are."""
    if not 3 <= len(word) <= 16:
        return []
    swapped = (word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1))
    return [w for w in dict.fromkeys(swapped) if w != word]
