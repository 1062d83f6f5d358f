"""The tree and note code against published test vectors: the RFC 6962/9162 tree of the
transparency-dev/merkle reference (testonly/constants.go, proof/verify_test.go) and the
signed note of the C2SP / Go sumdb/note documentation."""

from __future__ import annotations

import pytest

from app.audit import verifier as v

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
H = bytes.fromhex
# (leaf index, tree size, proof) — the reference's 1-based leaf numbers made 0-based.
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]  # fmt: skip
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (1, 1, []),
]  # fmt: skip


def _tree() -> dict[tuple[int, int], bytes]:
    """Every complete subtree, built the way the sequencer builds them."""
    nodes: dict[tuple[int, int], bytes] = {}
    tree = v.CompactRange()
    for i, leaf in enumerate(LEAVES):
        nodes[(0, i)] = v.leaf_hash(leaf)
        for level, index, h in tree.append(nodes[(0, i)]):
            nodes[(level, index)] = h
        assert tree.root() == ROOTS[i + 1]
    return nodes


def test_roots_match_the_reference_for_every_size():
    hashes = [v.leaf_hash(leaf) for leaf in LEAVES]
    nodes = _tree()
    for size in range(len(ROOTS)):
        assert v.root_of(hashes[:size]) == ROOTS[size]
        if size:
            assert v.range_hash(0, size, lambda lv, ix: nodes[(lv, ix)]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_are_the_published_ones_and_verify(index, size, proof):
    nodes = _tree()
    made = [v.range_hash(a, b, lambda lv, ix: nodes[(lv, ix)])
            for a, b in v.inclusion_ranges(index, size)]  # fmt: skip
    assert made == [H(p) for p in proof]
    leaf = v.leaf_hash(LEAVES[index])
    v.verify_inclusion(index, size, leaf, made, ROOTS[size])
    # The reference's corruptions: each one refused.
    bad = [
        (index + 1, size, leaf, made, ROOTS[size]),
        (index, size * 2, leaf, made, ROOTS[size]),
        (index, size, v.leaf_hash(b"WrongLeaf"), made, ROOTS[size]),
        (index, size, leaf, made, ROOTS[0]),
        (index, size, leaf, [*made, ROOTS[size]], ROOTS[size]),
        (index, size, leaf, [ROOTS[size], *made], ROOTS[size]),
    ]
    if made:
        bad.append((index, size, leaf, made[:-1], ROOTS[size]))
        flipped = [bytes([made[0][0] ^ 8]) + made[0][1:], *made[1:]]
        bad.append((index, size, leaf, flipped, ROOTS[size]))
    for args in bad:
        with pytest.raises(v.VerificationError):
            v.verify_inclusion(*args)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_are_the_published_ones_and_verify(first, second, proof):
    nodes = _tree()
    made = [v.range_hash(a, b, lambda lv, ix: nodes[(lv, ix)])
            for a, b in v.consistency_ranges(first, second)]  # fmt: skip
    assert made == [H(p) for p in proof]
    v.verify_consistency(first, second, made, ROOTS[first], ROOTS[second])
    if not made:
        return
    for args in (
        (first, second, made, ROOTS[second], ROOTS[first]),  # swapped roots
        (first, second, [], ROOTS[first], ROOTS[second]),  # empty proof
        (first, second, made[:-1], ROOTS[first], ROOTS[second]),  # truncated
        (first, second, [*made, ROOTS[first]], ROOTS[first], ROOTS[second]),
        (first, second * 2, made, ROOTS[first], ROOTS[second]),
        (first, second, [bytes([made[0][0] ^ 16]) + made[0][1:], *made[1:]],
         ROOTS[first], ROOTS[second]),
    ):  # fmt: skip
        with pytest.raises(v.VerificationError):
            v.verify_consistency(*args)


def test_every_proof_of_a_larger_tree_verifies():
    hashes = [v.leaf_hash(str(i).encode()) for i in range(37)]
    nodes: dict[tuple[int, int], bytes] = {}
    tree = v.CompactRange()
    for i, h in enumerate(hashes):
        nodes[(0, i)] = h
        nodes.update({(lv, ix): x for lv, ix, x in tree.append(h)})
    node = lambda lv, ix: nodes[(lv, ix)]  # noqa: E731
    for size in range(1, 38):
        root = v.root_of(hashes[:size])
        for index in range(size):
            proof = [v.range_hash(a, b, node) for a, b in v.inclusion_ranges(index, size)]
            v.verify_inclusion(index, size, hashes[index], proof, root)
        for first in range(1, size + 1):
            proof = [v.range_hash(a, b, node) for a, b in v.consistency_ranges(first, size)]
            v.verify_consistency(first, size, proof, v.root_of(hashes[:first]), root)


# The example of the C2SP signed-note spec and Go's sumdb/note documentation.
VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3m"
    "FXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_the_published_signed_note_opens_and_a_changed_one_does_not():
    verifier = v.Verifier.parse(VKEY)
    assert v.open_note(NOTE, verifier) == "This is an example message.\n"
    with pytest.raises(v.VerificationError, match="does not verify"):
        v.open_note(NOTE.replace("example message", "exemplary message"), verifier)
    with pytest.raises(v.VerificationError, match="no signature by"):
        v.open_note(NOTE.replace("\u2014 example.com/foo", "\u2014 example.com/bar"), verifier)
    with pytest.raises(v.VerificationError, match="id does not match"):
        v.Verifier.parse(VKEY.replace("530d903a", "530d903b"))


def test_signed_checkpoints_round_trip_and_keys_are_named_per_the_spec():
    signer = v.Signer.generate("registry.test/audit")
    assert v.Signer.parse(str(signer)).verifier.key_id == signer.verifier.key_id
    vkey = str(signer.verifier)
    name, hexid, _key = vkey.split("+", 2)
    assert name == "registry.test/audit" and len(hexid) == 8
    note = signer.sign(v.Checkpoint("registry.test/audit", 5, ROOTS[5]).body())
    assert note.startswith(
        "registry.test/audit\n5\nTju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=\n\n"
    )
    assert v.open_checkpoint(note, v.Verifier.parse(vkey)) == v.Checkpoint(
        "registry.test/audit", 5, ROOTS[5]
    )
    other = v.Signer.generate("registry.test/audit")
    with pytest.raises(v.VerificationError):
        v.open_checkpoint(note, other.verifier)
