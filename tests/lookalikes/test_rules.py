"""The matching rules of app.lookalikes.skeleton, with handles that do and do not match."""

from __future__ import annotations

import pytest

from app.lookalikes import skeleton


def _same(a: str, b: str) -> bool:
    return skeleton.same(skeleton.forms(a), skeleton.forms(b))


@pytest.mark.parametrize(
    "impostor",
    [
        "st\u0430ffspolice",  # Cyrillic a
        "StaffsPoIice",  # capital I for l
        "staffsp0lice",  # zero for o
        "staffs_police",  # separators added
        "staffs.police",
        "staffs-police",
        "staffspolice1",  # digits added
        "staffs_police_999",
        "\uff53taffspolice",  # fullwidth s
        "st\u00e4ffspolice",  # an accent
    ],
)
def test_a_confusable_handle_has_the_official_skeleton(impostor):
    assert _same(impostor, "staffspolice")


@pytest.mark.parametrize(
    ("official", "impostor"),
    [
        ("rnetpolice", "metpolice"),
        ("wmpolice", "wrnpolice"),
        ("scopolice", "\u0455\u0441\u043epolice"),
        ("met999", "met_999"),
    ],
)
def test_confusables_both_ways(official, impostor):
    assert _same(impostor, official)


@pytest.mark.parametrize(
    "other", ["staffsfire", "staffordshirepolice", "police", "staffs", "cheshirepolice"]
)
def test_different_handles_are_not_the_same(other):
    assert not _same(other, "staffspolice")


def test_handles_differing_only_in_their_digits_are_not_the_same():
    assert not _same("staffsbeat1", "staffsbeat2")
    assert not _same("pc1", "pc2")
    assert _same("staffsbeat", "staffsbeat2")  # digits removed
    assert not _same("pc", "pc2")  # too short to mean anything


@pytest.mark.parametrize(
    ("impostor", "distance"),
    [("staffspolise", 1), ("staffspolce", 1), ("stafspolice", 1), ("staffspoilce", 1),
     ("staffpolicee", 2)],
)  # fmt: skip
def test_a_small_edit_distance_is_near(impostor, distance):
    assert skeleton.near(skeleton.forms(impostor), skeleton.forms("staffspolice")) == distance


@pytest.mark.parametrize(
    ("impostor", "official"),
    [
        ("stfpolic", "staffspolice"),  # too many edits
        ("bcpx", "bcpy"),  # under five characters: exact only
        ("staffsfire", "staffspolice"),
        ("avonpolice", "devonpolice1234"),
    ],
)
def test_far_or_short_handles_are_not_near(impostor, official):
    assert skeleton.near(skeleton.forms(impostor), skeleton.forms(official)) is None


def test_edit_distance_limit_grows_with_length():
    assert [skeleton.distance_limit(n) for n in (4, 5, 8, 9, 30)] == [0, 1, 1, 2, 2]


def test_trigram_similarity_matches_pg_trgm():
    # PostgreSQL: SELECT similarity('staffspolice', 'staffspolise') -> 0.625,
    # similarity('abcde', 'abxde') -> 0.33333334.
    assert skeleton.trigram_similarity("staffspolice", "staffspolise") == pytest.approx(0.625)
    assert skeleton.trigram_similarity("abcde", "abxde") == pytest.approx(1 / 3)
    assert skeleton.trigram_similarity("abc", "abc") == 1.0
    assert skeleton.trigram_similarity("", "abc") == 0.0


@pytest.mark.parametrize(
    ("handle", "named"),
    [
        ("staffordshirepolicenews", True),
        ("StaffordshirePolice_UK", True),
        ("staffordshire_cops", True),
        ("real_staffordshire_police", True),
        ("staffordshirebakery", False),
        ("staffordshire", False),
        ("cheshirepolice", False),
    ],
)
def test_the_force_name_in_a_handle(handle, named):
    name = skeleton.force_name("Staffordshire Police")
    assert skeleton.names_force(skeleton.key(handle), name) is named


def test_a_welsh_force_name_with_heddlu():
    name = skeleton.force_name("Dyfed-Powys Police")
    assert skeleton.names_force(skeleton.key("Heddlu_DyfedPowys"), name)
    assert not skeleton.names_force(skeleton.key("dyfedpowystourism"), name)


def test_inputs_are_bounded():
    huge = "a" * 100_000
    assert len(skeleton.key(huge)) <= skeleton.MAX_INPUT
    assert skeleton.near(skeleton.forms(huge), skeleton.forms("staffspolice")) is None
