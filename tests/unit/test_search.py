"""How `/lead NAME` ranks candidates (briefs.search) and shows them grouped by company (briefs.blocks)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from briefs.blocks import search_blocks
from briefs.search import (
    ALL_WORDS,
    EXACT,
    NEAR,
    ONE_EDIT,
    PARTIAL,
    PREFIX,
    Candidate,
    company_key,
    enough,
    one_edit_variants,
    rank,
    reorder,
    search_fields,
    slip,
    tied,
    typos_allowed,
    variants,
    word_score,
)
from storage.leads import Match
from tests.unit.test_hostile import HOSTILE, IDS, assert_message_ok
from tests.unit.test_limits import assert_under_budget


def lead(id_: int, first: str | None, last: str | None, company: str | None, email: str | None = None,
         title: str | None = None, owner: str | None = None) -> Candidate:
    email = email or f"lead{id_}@example.org"
    f = search_fields(first, last, company, email)
    return Candidate(id_, email, first, last, title, company, owner, f.name_fold, f.company_fold)


PEOPLE = [
    lead(1, "Jon", "Doe", "Acme Widgets", "jon.doe@acmewidgets.example"),
    lead(2, "Jon", "Dow", "Acme Widget 1255"),
    lead(3, "John", "Doe", "Widgetry Acme 88"),
    lead(4, "Jon", "Doerr", "Acme Widget 2280"),
    lead(5, "Zoë", "Krämer", "Société Générale des Widgets"),
    lead(6, "Łukasz", "Nowak", "Acme Widget"),
    lead(7, "Siobhán", "Ó Briain", "ACME widgets GmbH"),
    lead(8, None, None, "Acme Widget 12"),
    lead(9, "Ana", "García-Márquez", None, "ana@gmail.example"),
]


def order(query: str) -> list[int]:
    return [s.candidate.id for s in rank(query, PEOPLE)]


def tier(query: str, id_: int) -> int | None:
    return next((s.tier for s in rank(query, PEOPLE) if s.candidate.id == id_), None)


def test_search_fields_fold_accents_case_and_punctuation():
    f = search_fields("Zoë", "Krämer-Ó Briain", "Société Générale, S.A.", "Zoe.K@Example.ORG")
    assert f.name_fold == "zoe kramer o briain"
    assert f.company_fold == "societe generale s.a." == company_key("  SOCIÉTÉ générale, s.a.")
    assert f.search_text == "zoe kramer o briain societe generale s.a. zoe.k@example.org"
    assert search_fields(None, None, None, "x@y.example") == search_fields("", "", "", "x@y.example")
    assert len(search_fields("a" * 500, "b" * 500, "c" * 500, "d" * 300 + "@x.example").search_text) <= 1200


def test_exact_company_beats_its_look_alikes_and_keeps_them_after():
    assert order("Acme Widgets")[:2] == [1, 7]  # the company itself, then the same name as a prefix
    # Acme Widget 1255 is a letter off; with the company typed whole, it ranks with the partial matches.
    assert tier("acme widgets", 1) == EXACT and tier("acme widgets", 2) == PARTIAL
    assert order("acme widget")[0] == 6 and tier("acme widget", 8) == PREFIX
    # Among prefixes, the closest first: "Acme Widget 12" before "Acme Widget 1255".
    prefixes = [i for i in order("acme widget") if tier("acme widget", i) == PREFIX]
    assert prefixes.index(8) < prefixes.index(2)


def test_exact_name_email_and_name_with_company_in_either_order():
    assert order("Jon Doe")[0] == 1
    assert order("JON.DOE@ACMEWIDGETS.EXAMPLE")[0] == 1 and tier("jon.doe@acmewidgets.example", 1) == EXACT
    assert order("jon doe acme widgets")[0] == 1 and tier("jon doe acme widgets", 1) == EXACT
    assert order("acme widgets jon doe")[0] == 1
    assert tier("doe jon", 1) == ALL_WORDS  # every word, another order


def test_every_word_counts_and_name_and_company_mix():
    ranked = order("jon doe acme")
    assert ranked[0] in (1, 4) and ranked.index(1) < ranked.index(2)  # Jon Dow scores lower on "doe"
    assert order("doe widgetry")[0] == 3
    assert 5 not in order("jon doe acme")


def test_accents_and_case_never_matter():
    assert order("zoe kramer") == order("ZOË KRÄMER") == order("Zoe  Kramer")
    assert order("zoe kramer")[0] == 5 and tier("zoe kramer", 5) == EXACT
    assert order("siobhan o briain")[0] == 7
    assert order("garcia marquez")[0] == 9 and order("GARCÍA-MÁRQUEZ")[0] == 9


@pytest.mark.parametrize("query", ["Acme Widgts", "acme wigdets", "Acme Widgetts", "jon deo", "Jno Doe",
                                   "Siobhan O Brian", "Societe Generale des Wigets", "zoe kraemer"])
def test_one_or_two_typos_per_word_are_tolerated(query):
    intended = {"acme": 1, "jon": 1, "jno": 1, "siobhan": 7, "societe": 5, "zoe": 5}[query.split()[0].lower()]
    assert intended in order(query)[:3], [(s.candidate.first_name, s.candidate.company) for s in rank(query, PEOPLE)]


def test_too_many_typos_or_a_stranger_are_not_matches():
    assert order("Qwxz Plmk") == []
    assert word_score("widgets", ["wxyzqts"]) == 0.0
    assert word_score("doe", ["dxq"]) == 0.0  # three letters: one typo at most
    assert typos_allowed("jo") == 0 and typos_allowed("doe") == 1 and typos_allowed("widgets") == 2
    assert word_score("jo", ["ja"]) == 0.0 and word_score("jo", ["jon"]) == 0.9


def test_word_scores_rank_exact_prefix_typo_infix():
    words = ["acme", "widgets", "megawidget"]
    assert word_score("acme", words) == 1.0
    assert word_score("wid", words) == 0.9
    assert word_score("widgest", words) == 0.75
    assert word_score("widgts", words) == 0.75  # one dropped letter
    assert word_score("wdgtes", ["widgets"]) == 0.6  # two
    assert word_score("awidge", ["megawidget"]) == 0.5  # inside a word


def test_accents_typed_break_ties_between_folded_twins():
    twins = [lead(1, "Luca", "Óger", "Nimbus"), lead(2, "Luca", "Öger", "Helios")]
    assert [s.candidate.id for s in rank("Luca Öger", twins)] == [2, 1]
    assert [s.candidate.id for s in rank("Luca Óger", twins)] == [1, 2]


def test_swapped_letters_and_when_a_closer_look_is_needed():
    assert variants("lbas") == ["blas", "labs", "lbsa"] and variants("jo") == []
    assert "quantums" in variants("quantusm") and len(variants("widgetry")) == 7
    assert enough(rank("acme widgets", PEOPLE))  # matched as typed: no near-miss pass
    assert enough(rank("doe jon", PEOPLE))
    assert enough(rank("acme wdgets", PEOPLE))  # one letter off: found by one_edit_variants, no closer look
    assert not enough(rank("acme wdgts", PEOPLE))  # two: near misses are looked for
    assert not enough(rank("jon do", PEOPLE))  # only names that start like it: the rep may have meant a slip
    assert not enough([])


# Look-alikes of a CRM where one slip in a short name spells the start of other people's names.
SLIPS = [
    lead(11, "Noémie", "Kaal", "Quantum Vandelay"),
    lead(12, "Noémie", "Kala", "Harbor Atlantics Group 43"),
    lead(13, "Noémie", "Kalo", "Granite GmbH"),
    lead(14, "Noémie", "Kaladoe", "São Müller 1556"),
    lead(15, "Noémie", "Kaloain", "Brûlée Contoso 2680"),
    lead(16, "Noémie", "Kalinski", "Pacific Falcon"),
    lead(17, "Noémie", "Kalço", "Lumen Holdings"),
    lead(21, "Inès", "Romö", "Cascade Initech"),
    lead(22, "Inès", "Roówa", "Harbor Générale Solutions 48"),
    lead(23, "Inès", "Roodenburg", "Orion Tyrell 5395"),
    lead(24, "Inès", "Rooij", "Façade Técnica"),
    lead(25, "Inès", "Roomba", "Vertex Lumen"),
    lead(31, "Nora", "Öis", "Stark Cascade"),
    lead(32, "Noah", "Warois", "Pacific Falcon 6355"),
    lead(33, "Noah", "Círiöis", "Brûlée Contoso 2680"),
    lead(34, "Noa", "Oisín", "Hooli"),
]


@pytest.mark.parametrize(("query", "intended"), [("Noémie Kal", 11), ("noemie kaal", 11), ("Inès Roö", 21),
                                                 ("ines rmo", 21), ("Noa Öis", 31), ("nora ois", 31)])
def test_a_slip_that_spells_the_start_of_other_names_stays_in_the_top_3(query, intended):
    ranked = rank(query, SLIPS)
    assert intended in [s.candidate.id for s in ranked[:3]], [(s.candidate.last_name, s.tier) for s in ranked]


def test_one_edit_ranks_between_whole_words_and_unfinished_ones():
    assert tier("jon doe acme", 1) == PREFIX  # every word whole: "jon doe acme widgets" starts with it
    assert order("jon doe acme")[0] == 1  # above Jon Dow at Acme Widget 1255, one letter off
    assert tier("doe acme jon", 1) == ALL_WORDS and tier("doe acme jon", 2) == PARTIAL  # see test_slips_come_after…
    assert order("doe acme jon")[0] == 1
    ranked = rank("noemie kal", SLIPS)
    assert {s.candidate.id for s in ranked if s.tier == ONE_EDIT} == {11, 12, 13}
    assert {s.candidate.id for s in ranked if s.tier == PARTIAL} == {14, 15, 16, 17}  # "kalco": two letters more
    assert [s.candidate.id for s in rank("Noémie Kalo", SLIPS)][:1] == [13]  # exact still first
    assert rank("Inès Rooij", SLIPS)[0].candidate.id == 24
    noa = {s.candidate.id: s.tier for s in rank("Noa Öis", SLIPS)}
    assert noa[31] == ONE_EDIT and noa[32] == NEAR  # "noa" starts "noah", "ois" is inside "warois"


def test_likelier_slips_rank_first_among_one_letter_misses():
    assert slip("josn", "jons") == slip("kal", "kaal") == slip("jno", "jon") == 1.0 and slip("ojn", "jon") == 0.5
    assert slip("asvi", "alvi") == slip("asvi", "avi") == 0.5 and slip("kal", "ckal") == slip("kal", "akal") == 0.25
    # "Jösn Ervi": Jöns Ervi (two letters swapped) before the Jon Ervis (a letter extra), however many.
    people = [lead(40 + i, "Jon", "Ervi", f"Lookalike {i}") for i in range(5)] + [lead(50, "Jöns", "Ervi", "Quantum")]
    assert rank("Jösn Ervi", people)[0].candidate.id == 50
    assert [s.candidate.id for s in rank("Noémie Kal", [*SLIPS, lead(18, "Noémie", "Akal", "Acme"),
                                                        lead(19, "Noémie", "Ckal", "Wayne")])][:3] == [11, 12, 13]


def test_namesakes_of_one_guess_do_not_hide_the_other_guesses():
    # "Lea Beres": five Lea Berens (one letter changed) and one Lea Beris (another letter changed).
    berens = [lead(60 + i, "Léa" if i % 2 else "Lea", "Berễn", f"Alpine Initech {i}") for i in range(6)]
    people = [*berens, lead(70, "Lea", "Beris", "Beacon Cyberdyne"), lead(71, "Lea", "Beresford", "Umbrella")]
    ranked = rank("Lea Beres", people)
    assert [s.candidate.id for s in ranked][:2] in ([60, 70], [61, 70])  # one Beren, then Beris
    assert {s.candidate.id for s in ranked[2:7]} == {60, 61, 62, 63, 64, 65} - {ranked[0].candidate.id}
    assert ranked[-1].candidate.id == 71 and ranked[-1].tier == PARTIAL
    assert [s.candidate.id for s in rank("Lea Berễn", people)][:6] == [60, 62, 64, 61, 63, 65]  # exact: as typed first


def test_one_edit_variants_cover_every_kind_of_slip_in_one_word():
    found = one_edit_variants("Noa Öis")
    assert {"nora ois", "no ois", "noa is", "ona ois", "noa ois", "noa oise"} - {"noa ois"} <= set(found)
    assert "noa ois" not in found and len(found) == len(set(found))
    assert "ines romo" in one_edit_variants("ines roo") and "søren tinna" in one_edit_variants("Søren Tina")
    assert "acme widget 1256" in one_edit_variants("acme widget 1255")  # digits in a word that has some
    assert one_edit_variants("jo li") == []  # words under 3 letters take no typo
    # A word some lead already has whole is taken as typed: only "kal" varies.
    kal = one_edit_variants("noemie kal", SLIPS[1:3])
    assert "noemie kaal" in kal and all(v.startswith("noemie ") for v in kal)
    assert set(one_edit_variants("noemie kalo", SLIPS)) == set(one_edit_variants("noemie kalo"))  # nothing left


# "Lea Beres": one letter off Lea Beris, Beren, Berer and Berez alike (a letter changed, not first, not a swap).
BERES = [
    lead(21, "Lea", "Beris", "Summit Vertex", "lea.beris@summitvertex.example", owner="Omar@OurCo.example"),
    lead(22, "Léa", "Beren", "Nimbus Atlas 4", "l.beren@nimbus.example", owner="li@ourco.example"),
    lead(23, "Lea", "Berer", "Orion Labs", "lea@orion.example", owner="li@ourco.example"),
    lead(24, "Lea", "Berez", "Helios 12", "berez@helios.example", owner="jane@ourco.example"),
    lead(25, "Lea", "Bere", "Cascade", "bere@cascade.example", owner="li@ourco.example"),  # "beres": one extra
    lead(26, "Lea", "Veres", "Granite", "veres@granite.example", owner="omar@ourco.example"),  # first letter
    lead(27, "Lea", "Beris Martin", "Falcon", "lbm@falcon.example", owner="omar@ourco.example"),  # more left over
]
AGO = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_the_spelling_alone_cannot_tell_equally_likely_slips_apart():
    found = rank("lea beres", BERES)
    alike = [s.candidate.id for s in found if s.spelling == found[0].spelling]
    assert sorted(alike) == [21, 22, 23, 24, 25]  # one letter changed or one extra: each as likely
    worse = [s.candidate.id for s in found[5:]]
    # Another guess at what was meant (Veres: the first letter wrong, the rarest slip) before a second reading
    # as Lea Beris (Lea Beris Martin: more of the name left over); one lead per reading first.
    assert worse == [26, 27]
    assert [s.candidate.id for s in found[:5]] == [25, 22, 23, 24, 21]  # by name, with nothing else to go by


def test_the_searching_reps_own_lead_comes_first_among_slips_spelt_alike():
    assert rank("lea beres", BERES, viewer="omar@ourco.example")[0].candidate.id == 21  # owner's case ignored
    assert rank("lea beres", BERES, viewer="jane@ourco.example")[0].candidate.id == 24
    # Never above a likelier spelling: Omar's Lea Veres (first letter wrong) stays below the others.
    order_ = [s.candidate.id for s in rank("lea beres", BERES, viewer="omar@ourco.example")]
    assert order_.index(26) > order_.index(25) and order_.index(27) > order_.index(24)


def test_then_the_most_recently_active_lead_comes_first():
    active = {23: AGO - timedelta(days=2), 22: AGO - timedelta(days=400), 25: AGO - timedelta(minutes=5)}
    assert [s.candidate.id for s in rank("lea beres", BERES, last_active=active)[:5]] == [25, 23, 22, 24, 21]
    # The rep's own lead still comes before a more recent one of someone else's.
    mine_first = rank("lea beres", BERES, viewer="jane@ourco.example", last_active=active)
    assert [s.candidate.id for s in mine_first[:3]] == [24, 25, 23]
    # Recency never lifts a lead above a likelier spelling.
    stale = rank("lea beres", BERES, last_active={26: AGO, 27: AGO})
    assert [s.candidate.id for s in stale[5:]] == [26, 27]


def test_context_never_outranks_an_exact_match():
    people = [*BERES, lead(28, "Lea", "Beres", "Pacific", "lea.beres@pacific.example", owner="x@ourco.example")]
    found = rank("lea beres", people, viewer="omar@ourco.example", last_active={21: AGO})
    assert [s.candidate.id for s in found[:2]] == [28, 21]


def test_reorder_keeps_one_lead_per_reading_first():
    twins = [*BERES, lead(29, "Lea", "Beris", "Vertex", "lea2@vertex.example", owner="li@ourco.example"),
             lead(30, "Lea", "Beris", "Atlas", "lea3@atlas.example", owner="li@ourco.example")]
    found = reorder(rank("lea beres", twins), {29: AGO, 30: AGO - timedelta(hours=1)})
    readings = [s.reading for s in found if s.tier == ONE_EDIT]
    first = readings[:5]
    assert len(set(first)) == 5 and found[0].candidate.id == 29  # the most recent Lea Beris stands for the three
    assert [s.candidate.id for s in found if s.reading == "lea beris"] == [29, 30, 21, 27]


def test_tied_names_only_the_leads_the_spelling_leaves_open_within_what_is_shown():
    found = rank("lea beres", BERES)
    assert sorted(tied(found, 3)) == [21, 22, 23, 24, 25]
    assert sorted(tied(found, 10)) == [21, 22, 23, 24, 25]  # 26 and 27 are each alone in their spelling
    assert tied(rank("jon doe", PEOPLE), 1) == []  # one exact match, nothing else spelt like it
    assert sorted(tied(rank("jon doe", PEOPLE), 3)) == [2, 3]  # then John Doe and Jon Dow, each one letter off
    assert tied(found, 3, cap=2) == [25, 22]


def _match(name, company, email, title=None):
    return Match(email=email, name=name, title=title, company=company, score=1.0)


def test_blocks_group_by_company_show_it_once_and_count_the_rest():
    matches = [_match("Jon Doe", "Acme Widgets", "a@x.example", "VP Sales"),
               _match("Zoë Krämer", "Globex", "b@x.example"),
               _match("Ana Ruiz", "ACME Widgets", "c@x.example"),
               _match("No Company", None, "d@x.example")]
    msg = search_blocks("acme", matches, {"acme widgets": 39})
    texts = [json.dumps(b, ensure_ascii=False) for b in msg["blocks"]]
    assert sum("🏢 *Acme Widgets*" in t for t in texts) == 1 and sum("🏢 *Globex*" in t for t in texts) == 1
    acme = next(i for i, t in enumerate(texts) if "🏢 *Acme Widgets*" in t)
    assert "Jon Doe" in texts[acme + 1] and "VP Sales" in texts[acme + 1] and "Acme" not in texts[acme + 1]
    assert "Ana Ruiz" in texts[acme + 2]  # the same company, whatever its case, in the same group
    assert ("…and 37 more at Acme Widgets: add a name to narrow it down, or see the account with "
            "/lead account Acme Widgets") in texts[acme + 3]
    assert not any("more at Globex" in t for t in texts)
    assert sum('"accessory"' in t for t in texts) == 4
    assert_message_ok(msg)


@pytest.mark.parametrize("key", IDS)
def test_grouped_blocks_stay_inert_and_within_limits(key):
    evil = HOSTILE[key]
    matches = [Match(email=f"m{i}@x.example", name=evil[:400], title=evil[:300], company=f"{evil[:300]} {i % 3}",
                     score=1.0) for i in range(10)]
    msg = search_blocks(evil, matches, {company_key(f"{evil[:300]} {i}"): 10_000 for i in range(3)})
    assert_message_ok(msg)
    assert_under_budget(msg)
    assert len(msg["blocks"]) <= 50


def test_slips_come_after_names_that_start_like_the_query_when_some_lead_has_it_whole():
    """A rep who typed "anna" and has an Anna among the leads most likely typed what they meant: Annabelle
    (the name they may be completing) comes before Anne and Hanna (one letter off)."""
    people = [lead(41, "Anna", "Kowalski", "Granite"), lead(42, "Annabelle", "Jones", "Falcon"),
              lead(43, "Anne", "Smith", "Harbor"), lead(44, "Hanna", "Berg", "Beacon")]
    assert [s.candidate.id for s in rank("anna", people)] == [41, 42, 43, 44]
    # With no Anna at all, the slips come first again ("anna" for Anne rather than for Annabelle).
    assert [s.candidate.id for s in rank("anna", people[1:])][:2] == [43, 44]
