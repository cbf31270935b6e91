"""The no-rubric contradiction check (grader/metrics/reference.py): verdicts, labels, negating prefixes and the
lexicon's function words. Sentences invented for these tests, not taken from any graded data set."""
from __future__ import annotations

import pytest

from grader.metrics.opposites import negated_form, opposites_for
from grader.metrics.reference import check_reference, check_verdict


def kinds(answer: str, references: list[str]) -> list[str]:
    return [c.kind for c in check_reference(answer, references, opposites_for())]


# ------------------------------------------------------------------ verdicts


@pytest.mark.parametrize("answer, references, contradicts", [
    ("No, because the ice melts first.", ["Yes. The ice melts before the wax does."], True),
    ("Yes, the ice melts before the wax.", ["Yes. The ice melts before the wax does."], False),
    ("Yes and no: it depends on the room.", ["No, the wax melts first."], False),
    ("No two crystals look the same.", ["Compare the crystals to see if they look the same."], False),
    ("B. It has the larger surface.", ["A. Its surface is larger, so it warms faster."], True),
    ("A, because its surface is larger.", ["A. Its surface is larger, so it warms faster."], False),
    ("12 grams, since 5 plus 7 is 12.", ["15 grams. 5 grams and 10 grams make 15 grams."], True),
    ("5 grams and 10 grams make 15 grams.", ["15 grams. 5 grams and 10 grams make 15 grams."], False),
    ("O(n) in the best case", ["N (the length of the list) steps when the list is sorted."], False),
])
def test_an_answer_that_opens_with_another_verdict_contradicts(answer, references, contradicts):
    assert (check_verdict(answer, references) is not None) is contradicts


@pytest.mark.parametrize("answer, contradicts", [
    ("Disagree, a drum makes sound while it shakes.", True),
    ("I disagree because sound comes from shaking.", True),
    ("I agree, it has to shake to make a sound.", False),
])
def test_agreeing_is_a_yes_and_disagreeing_a_no(answer, contradicts):
    assert (check_verdict(answer, ["Agree. Shaking things make sound."]) is not None) is contradicts


QUESTION = ("Priya and Tom test balls on a ramp. Tom rolls a rubber ball and a steel ball; Priya rolls two rubber "
            "balls of different sizes. Whose test shows whether the material matters? Why?")


@pytest.mark.parametrize("answer, contradicts", [
    ("Priya - because her balls are different sizes.", True),  # a name the question offers, not the reference's
    ("Priya's, since the sizes differ.", True),
    ("Tom - his balls are made of different materials.", False),
    ("Tom's. He changes the material.", False),
    ("Because the balls are different.", False),  # no verdict
    ("Rubber balls roll slower.", False),  # a capitalised word the question also writes in lower case
])
def test_a_name_the_question_offers_is_a_verdict(answer, contradicts):
    references = ["Tom's. Only his balls differ in material."]
    assert (check_verdict(answer, references, QUESTION) is not None) is contradicts


def test_a_choice_letter_beyond_h_when_the_reference_opens_with_one():
    assert check_verdict("Y, it has more salt in it.", ["X. It holds more salt in the same water."])
    assert check_verdict("X, it has more salt in it.", ["X. It holds more salt in the same water."]) is None


def test_references_that_disagree_on_the_verdict_give_none():
    assert check_verdict("No.", ["Yes, if it is warm.", "No, if it is cold."]) is None


def test_a_verdict_contradiction_quotes_the_first_sentence():
    [c] = check_reference("No. The ice melts first.", ["Yes. The ice melts before the wax does."], opposites_for())
    assert c.text == "No." and c.said == "No" and c.fact == "Yes."


# ------------------------------------------------------------------ labels


REFS = ["Lamps P and R are still in closed loops with the cell"]


@pytest.mark.parametrize("answer, contradicts", [
    ("lamps P and Q are still in closed loops with the cell", True),  # Q named where the reference has R
    ("lamps P and R are still in closed loops with the cell", False),
    ("lamp P is still in a closed loop with the cell", False),  # fewer: incomplete, not wrong
    ("lamps P, Q and R are in closed loops", False),  # more: wider, not a swap
    ("a lamp is in a closed loop", False),  # an article, not a label
])
def test_other_labels_than_the_reference_names_are_a_swap(answer, contradicts):
    assert ("swap" in kinds(answer, REFS)) is contradicts


def test_numbered_labels_in_words_or_digits():
    refs = ["Points 2 and 5 are joined by the wire"]
    assert "swap" in kinds("points two and 4 are joined by the wire", refs)
    assert not kinds("points two and 5 are joined by the wire", refs)


# ------------------------------------------------------------------ prefixes and function words


@pytest.mark.parametrize("a, b, opposite", [
    ("lit", "unlit", True), ("complete", "incomplete", True), ("magnetic", "nonmagnetic", True),
    ("connected", "disconnected", True), ("sight", "insight", False), ("cover", "discover", False),
    ("port", "import", False), ("lit", "lit", False),
])
def test_negating_prefixes(a, b, opposite):
    assert negated_form(a, b) is opposite


def test_an_unlit_lamp_contradicts_a_lit_one():
    assert kinds("the lamp stays unlit", ["The lamp stays lit"]) == ["opposite"]


def test_same_is_a_claim_word():
    refs = ["X and Y are in different loops"]
    assert kinds("X and Y are in the same loop", refs)
    assert not kinds("X and Y are not in the same loop", refs)


def test_a_hyphenated_non_is_one_word():
    refs = ["Iron is magnetic"]
    assert kinds("iron is non-magnetic", refs) == ["opposite"]
    assert not kinds("there are non-constant and constant pointers", ["nonconstant pointers and constant pointers"])


# ------------------------------------------------------------------ a verdict is not a negation


@pytest.mark.parametrize("answer, references", [
    ("The honey cakes are not pure syrup.", ["No, the honey cakes are not pure syrup."]),
    ("No, a cotton thread is not a conductor.", ["No, a cotton thread is an insulator."]),
    ("A cotton thread is an insulator, so the bulb stays dark.", ["No. A cotton thread is an insulator."]),
])
def test_an_opening_no_answers_the_question_and_negates_nothing(answer, references):
    assert kinds(answer, references) == []


@pytest.mark.parametrize("answer, references", [
    ("The honey cakes are pure syrup.", ["No, the honey cakes are not pure syrup."]),
    ("A cotton thread is a conductor.", ["No, a cotton thread is an insulator."]),
    ("The two cells are connected.", ["No. The two cells are separated by a gap."]),
])
def test_the_claim_after_an_opening_no_is_still_checked(answer, references):
    assert kinds(answer, references)


@pytest.mark.parametrize("answer, contradicts", [
    ("The jar with more beads has a greater density.", True),  # a difference where the reference says equal
    ("The heavier jar has a lower density.", True),
    ("Both jars have the same density.", False),
    ("The density is equal in both jars, whatever the number of beads.", False),
])
def test_a_difference_claimed_where_the_reference_says_the_same(answer, contradicts):
    refs = ["Both jars have the same density, even though one jar holds more beads."]
    assert bool(kinds(answer, refs)) is contradicts


def test_reversed_pairs_are_a_maximum_matching_as_scipy_finds_it():
    """The hand-written matching (kept for the cold start) against scipy's, on every pairing of a few words
    from the lexicon's direction and connection families."""
    import itertools

    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    from grader.metrics.reference import _pairs_reversed
    from grader.text import tokenize

    opposites = opposites_for()
    pool = tokenize("more greater less lower same equal connected separated gap higher tighter looser")
    for size in (2, 3):
        for answer in itertools.combinations(pool, size):
            for claim in itertools.combinations(pool, size):
                flipped = [t for t in answer if any(opposites.are_opposite(t, r) for r in claim)]
                stems_a = sorted({t.stem for t in flipped})
                stems_r = sorted({r.stem for r in claim})
                graph = np.array([[any(opposites.are_opposite(t, r) for t in flipped if t.stem == a
                                       for r in claim if r.stem == b) for b in stems_r] for a in stems_a], dtype=int)
                expected = 0 if not stems_a else int(
                    (maximum_bipartite_matching(csr_matrix(graph), perm_type="column") >= 0).sum())
                assert _pairs_reversed(flipped, list(claim), opposites) == expected, (answer, claim)


# ------------------------------------------------------------------ the lexicon's reach


@pytest.mark.parametrize("answer, references, contradicts", [
    # length is not height: "shorter" is no kin of "low", so the pitch is reversed
    ("The wire made a low note.", ["When the wire was shorter, the note was higher."], True),
    ("The wire made a high note.", ["When the wire was shorter, the note was higher."], False),
    # a linking preposition carries no claim: "no gap between the plates" is "no gap"
    ("there is a gap.", ["there is no gap between the plates", "the plates are touching"], True),
    ("there is no gap.", ["there is no gap between the plates", "the plates are touching"], False),
    # a misspelt word is looked up by the lexicon's words as written ("seperate" is "separate")
    ("plate 2 is seperate from plate 5", ["Plates 2 and 5 are connected"], True),
    ("plate 2 is conected to plate 5", ["Plates 2 and 5 are connected"], False),
    # superlatives and early/late are in the direction families
    ("The smallest cup fills first.", ["The largest cup fills first."], True),
    ("The pond freezes late in the winter.", ["The pond freezes early in the winter."], True),
    # stopping is the opposite of going on
    ("The fan will stop.", ["The fan will continue to spin because it still has a path to the cell."], True),
    ("The fan keeps spinning.", ["The fan will continue to spin because it still has a path to the cell."], False),
])
def test_the_lexicon_reads_dimensions_links_and_misspellings(answer, references, contradicts):
    assert bool(kinds(answer, references)) is contradicts, kinds(answer, references)


# ------------------------------------------------------------------ what a claim says, and what frames it


@pytest.mark.parametrize("answer, references, contradicts", [
    # An opening "No" with its comma left out is still the verdict, when the references answer yes or no.
    ("No the honey cakes are not pure syrup.", ["No, the honey cakes are not pure syrup."], False),
    ("No the honey cakes are pure syrup.", ["No, the honey cakes are not pure syrup."], True),
    # "I think" frames the claim; it is not part of it (it used to dilute the claim below the alignment bar).
    ("I think the copper pin will stick to the magnet.", ["The copper pin will not stick to the magnet."], True),
    ("I think the copper pin will not stick to the magnet.", ["The copper pin will not stick to the magnet."], False),
    # "higher, not lower" denies the opposite: it says the claim.
    ("When the wire is tightened the note is higher not lower.", ["When the wire is tighter, the note is higher."],
     False),
    ("When the wire is tightened the note is lower not higher.", ["When the wire is tighter, the note is higher."],
     True),
    # "zero beads" is "no beads".
    ("The cup with no beads is the control.", ["The cup with 0 beads is the control."], False),
    ("The cup with beads in it is the control.", ["The cup with 0 beads is the control."], True),
])
def test_frames_corrections_and_zero(answer, references, contradicts):
    assert bool(kinds(answer, references)) is contradicts


@pytest.mark.parametrize("answer, contradicts", [
    # Which side of "than" a thing stands on decides the direction: the words alone cannot tell.
    ("The pores in the paper are narrower than the grains.", False),
    ("The grains of clay are narrower than the grains of gravel.", False),
    ("The gravel grains are narrow.", True),
])
def test_a_comparison_with_than_is_not_read_word_by_word(answer, contradicts):
    refs = ["The gravel grains are too wide to pass through the pores."]
    assert bool(kinds(answer, refs)) is contradicts


@pytest.mark.parametrize("answer, contradicts", [
    ("Every runner should start from the same line.", False),  # what ought to be: the reference's point
    ("All the runners need to use the same shoes.", False),
    ("Every runner starts from the same line.", True),
])
def test_what_ought_to_be_is_not_a_claim_about_what_is(answer, contradicts):
    refs = ["Each runner starts from a different line."]
    assert bool(kinds(answer, refs)) is contradicts
