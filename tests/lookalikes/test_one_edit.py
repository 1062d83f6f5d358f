"""Keys one edit apart are found through their shared deletions (skeleton.deletions; on
PostgreSQL an index over the same function in SQL), on both databases alike."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from app.lookalikes import skeleton

VERIFY = "/api/v1/public/verify"
ALPHABET = "abcxyz01"


def _one_edit(rng: random.Random, k: str) -> str:
    i = rng.randrange(len(k))
    match rng.choice(("substitute", "insert", "delete", "transpose")):
        case "substitute":
            return k[:i] + rng.choice(ALPHABET) + k[i + 1 :]
        case "insert":
            return k[:i] + rng.choice(ALPHABET) + k[i:]
        case "delete":
            return k[:i] + k[i + 1 :]
        case _:
            i = min(i, len(k) - 2)
            return k[:i] + k[i + 1] + k[i] + k[i + 2 :]


def test_every_pair_the_rules_allow_one_edit_shares_a_deletion():
    rng = random.Random(20261204)
    checked = 0
    for _ in range(20_000):
        a = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(5, 9)))
        b = _one_edit(rng, a)
        if skeleton.distance_limit(min(len(a), len(b))) != 1:
            continue  # under five characters: exact only; nine and up: the trigram branch
        if skeleton.near(skeleton.Forms(b, b), skeleton.Forms(a, a)) is None:
            continue  # too few shared trigrams: not a look-alike by the rules
        checked += 1
        assert set(skeleton.deletions(a)) & set(skeleton.deletions(b)), (a, b)
    assert checked > 10_000


def test_deletions_are_for_keys_of_five_to_nine_characters():
    assert skeleton.deletions("abcd") == []
    assert skeleton.deletions("abcdefghij") == []
    assert skeleton.deletions("abcde") == ["abcde", "bcde", "acde", "abde", "abce", "abcd"]


async def test_postgresql_indexes_the_same_function(db):
    if db.is_sqlite:
        pytest.skip("an index function of PostgreSQL's; SQLite scans a window of key lengths")
    rng = random.Random(7)
    keys = [
        "",
        "abcd",
        "abcde",
        "wmpolice",
        "staffspol",
        "staffspolice",
        "\u03b1\u03b2\u03b3\u03b4\u03b5\u03b6",
    ]
    keys += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(3, 11))) for _ in range(200)]
    async with db.engine.connect() as conn:
        for k in keys:
            got = await conn.scalar(sa.text("SELECT lookalike_deletions(:k)"), {"k": k})
            assert sorted(got) == sorted(skeleton.deletions(k)), k


@pytest.mark.parametrize(
    "url",
    [
        "https://x.com/wmpolica",  # a substitution
        "https://x.com/wmpoilce",  # a transposition
        "https://x.com/wmpolic",  # a deletion (seven characters)
        "https://x.com/wmpoliice",  # an insertion (nine characters)
        "https://www.instagram.com/wmpollce",
    ],
)
async def test_a_short_official_handle_one_edit_away(client, official, url):
    r = await client.get(VERIFY, params={"url": url})
    assert r.status_code == 200, r.text
    found = [(m["platform"], m["handle"], m["match"]) for m in r.json()["resembles"]]
    assert ("x", "wmpolice", "similar") in found


async def test_two_edits_from_a_short_handle_are_not_similar(client, official):
    r = await client.get(VERIFY, params={"url": "https://x.com/wmpxlixe"})
    assert r.status_code == 200, r.text
    assert all(m["handle"] != "wmpolice" for m in r.json()["resembles"])
