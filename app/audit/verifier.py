"""Verify the registry's audit log without trusting the registry.

Standalone on purpose: this module imports nothing from the rest of `app` (only the
standard library and `cryptography`), so an investigator can copy this one file and check
what they were handed. The service uses the same functions to build what it serves.

What it knows:

* **Leaves.** An audit event's canonical bytes (`event_leaf`) are the UTF-8 JSON of
  `{"v":1,"id","at","actor_sub","actor_roles","actor_force","force_id","action",
  "entity_type","entity_id","changes","request_id"}` with keys sorted, no whitespace
  (`,` and `:` separators), non-ASCII kept as UTF-8, `at` as
  `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC and `force_id` as a lower-case UUID string.
* **The Merkle tree** of RFC 9162 §2.1: leaf hash `SHA-256(0x00 || leaf)`, interior node
  `SHA-256(0x01 || left || right)`, the split at the largest power of two below the size;
  inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), made and checked.
* **Checkpoints** in the C2SP tlog-checkpoint form (origin line, decimal tree size,
  base64 root hash, each ending in a newline) signed as a C2SP signed note with Ed25519:
  a signature line `— <key name> <base64(key id || signature)>`, key id the first four
  bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`, verifier key
  `<key name>+<hex key id>+<base64(0x01 || public key)>`.

Command line (exit status 0 when the check holds, 1 when it does not)::

    python -m app.audit.verifier leaf EVENT.json
    python -m app.audit.verifier inclusion --key KEY --checkpoint CP --event EVENT.json \
        --proof PROOF.json
    python -m app.audit.verifier consistency --key KEY --old OLD_CP --new NEW_CP \
        --proof PROOF.json

EVENT.json is the body of `GET /api/v1/audit/events/{id}`, PROOF.json that of
`GET /api/v1/audit/proof/inclusion` or `/proof/consistency`, CP a checkpoint note
(`GET /api/v1/audit/checkpoint` as text/plain) and KEY the verifier key
(`GET /api/v1/public/audit-key`) or a file holding it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HASH_SIZE = 32
ED25519 = 0x01
LEAF_VERSION = 1
EMPTY_ROOT = hashlib.sha256(b"").digest()


class VerificationError(ValueError):
    """A proof, note, key or leaf that does not check out."""


# --- leaves ---------------------------------------------------------------------------


def format_instant(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_leaf(event: dict[str, Any]) -> bytes:
    """The canonical bytes of an audit event (the Merkle leaf)."""
    force_id = event.get("force_id")
    doc = {
        "v": LEAF_VERSION,
        "id": int(event["id"]),
        "at": format_instant(event["at"]),
        "actor_sub": event["actor_sub"],
        "actor_roles": list(event.get("actor_roles") or []),
        "actor_force": event.get("actor_force"),
        "force_id": str(uuid.UUID(str(force_id))) if force_id else None,
        "action": event["action"],
        "entity_type": event["entity_type"],
        "entity_id": str(event["entity_id"]),
        "changes": event.get("changes") or {},
        "request_id": event.get("request_id"),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- the tree -------------------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two strictly below `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 §2.1.1), in memory."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = split(len(hashes))
    return node_hash(root_of(hashes[:k]), root_of(hashes[k:]))


Range = tuple[int, int]  # leaves [start, end)


def inclusion_ranges(index: int, size: int, start: int = 0) -> list[Range]:
    """The subtrees whose hashes make PATH(index, D[start:start+size]), deepest first."""
    if size <= 1:
        return []
    k = split(size)
    if index < k:
        return [*inclusion_ranges(index, k, start), (start + k, start + size)]
    return [*inclusion_ranges(index - k, size - k, start + k), (start, start + k)]


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees whose hashes make PROOF(first, D[second]) (RFC 9162 §2.1.4.1)."""
    if not 0 < first < second:
        return []

    def sub(m: int, start: int, size: int, whole: bool) -> list[Range]:
        if m == size:
            return [] if whole else [(start, start + size)]
        k = split(size)
        if m <= k:
            return [*sub(m, start, k, whole), (start + k, start + size)]
        return [*sub(m - k, start + k, size - k, False), (start, start + k)]

    return sub(first, 0, second, True)


def complete_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """(level, index) of the aligned complete subtrees whose RFC 9162 combination is the
    hash of leaves [start, end), when `start` is aligned as the RFC's splits leave it."""
    size = end - start
    if size <= 0:
        return []
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return [(level, start >> level)]
    k = split(size)
    return complete_subtrees(start, start + k) + complete_subtrees(start + k, end)


def range_hash(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    """The hash of leaves [start, end) from the complete subtrees `node(level, index)`."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = split(size)
    return node_hash(range_hash(start, start + k, node), range_hash(start + k, end, node))


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2); raises if malformed."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes([leaf, *proof])
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("the inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise VerificationError("the inclusion proof does not lead to the checkpoint's root")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2: the tree of size `second` extends the one of size `first`."""
    if not 0 <= first <= second:
        raise VerificationError(f"size {first} cannot precede size {second}")
    _check_hashes(proof)
    if first == second:
        if proof:
            raise VerificationError("equal sizes take an empty proof")
        if first_root != second_root:
            raise VerificationError("two different roots for the same tree size")
        return
    if first == 0:
        if proof:
            raise VerificationError("a proof from the empty tree is empty")
        return
    if not proof:
        raise VerificationError("the consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("the consistency proof is too short")
    if fr != first_root:
        raise VerificationError("the consistency proof does not lead to the older root")
    if sr != second_root:
        raise VerificationError("the consistency proof does not lead to the newer root")


def _check_hashes(hashes: Iterable[bytes]) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise VerificationError("a hash is not 32 bytes")


class CompactRange:
    """The right edge of a growing tree: one hash per set bit of its size (largest
    first). Appending a leaf returns the complete subtrees it closes, (level, index, hash)."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("a compact range holds one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    @staticmethod
    def levels(size: int) -> list[tuple[int, int]]:
        """(level, index) of the nodes a compact range of `size` holds, largest first."""
        out = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, start >> level))
                start += 1 << level
        return out

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        closed = []
        h = leaf
        index = self.size
        level = 0
        while index & 1:
            h = node_hash(self.hashes.pop(), h)
            index >>= 1
            level += 1
            closed.append((level, index, h))
        self.hashes.append(h)
        self.size += 1
        return closed

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r


# --- signed notes and checkpoints ----------------------------------------------------

_DASH = "\u2014 "


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise VerificationError("a key name is non-empty, with no spaces and no '+'")


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        try:
            name, hexid, b64 = vkey.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
            kid = bytes.fromhex(hexid)
        except (ValueError, binascii.Error):
            raise VerificationError("not a verifier key (name+keyid+base64)") from None
        _check_name(name)
        if len(hexid) != 8 or len(raw) != 33 or raw[0] != ED25519:
            raise VerificationError("not an Ed25519 verifier key")
        if key_id(name, raw[1:]) != kid:
            raise VerificationError("the verifier key's id does not match its name and key")
        return cls(name, kid, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def __str__(self) -> str:
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return (
            f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + raw).decode()}"
        )


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """`PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>` (Go's note format)."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise VerificationError("not a signer key (PRIVATE+KEY+name+keyid+base64)")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error:
            raise VerificationError("not a signer key") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise VerificationError("not an Ed25519 signer key")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        _check_name(signer.name)
        if signer.verifier.key_id.hex() != parts[3]:
            raise VerificationError("the signer key's id does not match its key")
        return signer

    @property
    def verifier(self) -> Verifier:
        public = self.private.public_key()
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, key_id(self.name, raw), public)

    def __str__(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{b64}"

    def sign(self, text: str) -> str:
        """`text` as a signed note with this key's signature line."""
        if not text.endswith("\n") or "\n\n" in text:
            raise VerificationError("a note's text ends in one newline and has no blank line")
        sig = self.private.sign(text.encode())
        line = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{text}\n{_DASH}{self.name} {line}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a signed note, once `verifier`'s signature on it holds."""
    if len(note) > 1_000_000:
        raise VerificationError("the note is too large")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise VerificationError("not a signed note (no blank line before the signatures)")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    if not lines or len(lines) > 100:
        raise VerificationError("a signed note carries 1 to 100 signature lines")
    for line in lines:
        if not line.startswith(_DASH):
            raise VerificationError("a malformed signature line")
        name, _, b64 = line[len(_DASH) :].rpartition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise VerificationError("a malformed signature line") from None
        if len(raw) < 5:
            raise VerificationError("a malformed signature line")
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue  # another key's signature: not ours to judge
        try:
            verifier.public.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise VerificationError(f"the signature of {name} does not verify") from None
        return text
    raise VerificationError(f"the note carries no signature by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise VerificationError("a checkpoint has an origin, a size and a root hash")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin or not size.isascii() or not size.isdigit() or len(size) > 20:
            raise VerificationError("a checkpoint's first lines are its origin and tree size")
        if size != "0" and size.startswith("0"):
            raise VerificationError("a checkpoint's tree size has no leading zeros")
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise VerificationError("a checkpoint's root hash is base64") from None
        if len(raw) != HASH_SIZE:
            raise VerificationError("a checkpoint's root hash is 32 bytes")
        return cls(origin, int(size), raw)


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


# --- command line ---------------------------------------------------------------------


def _read(arg: str) -> str:
    path = Path(arg)
    return path.read_text(encoding="utf-8") if path.is_file() else arg


def _hashes(doc: dict[str, Any]) -> list[bytes]:
    try:
        return [base64.b64decode(h, validate=True) for h in doc["hashes"]]
    except (KeyError, TypeError, binascii.Error):
        raise VerificationError("the proof has no list of base64 hashes") from None


def check_event(event: dict[str, Any]) -> bytes:
    """The leaf hash of an event served as JSON, once its `leaf` matches its fields."""
    try:
        served = base64.b64decode(event["leaf"], validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise VerificationError("the event carries no base64 `leaf`") from None
    if event_leaf(event) != served:
        raise VerificationError(f"event {event.get('id')}: its fields do not make its leaf")
    return leaf_hash(served)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.audit.verifier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_leaf = sub.add_parser("leaf", help="an event's fields make its leaf; print its hash")
    p_leaf.add_argument("event")
    p_inc = sub.add_parser("inclusion", help="an event is in the log a checkpoint signs")
    for name in ("--key", "--checkpoint", "--event", "--proof"):
        p_inc.add_argument(name, required=True)
    p_con = sub.add_parser("consistency", help="a newer checkpoint extends an older one")
    for name in ("--key", "--old", "--new", "--proof"):
        p_con.add_argument(name, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "leaf":
            digest = check_event(json.loads(_read(args.event)))
            print(f"leaf ok: {base64.b64encode(digest).decode()}")
            return 0
        verifier = Verifier.parse(_read(args.key))
        proof = json.loads(_read(args.proof))
        if args.command == "inclusion":
            checkpoint = open_checkpoint(_read(args.checkpoint), verifier)
            event = json.loads(_read(args.event))
            digest = check_event(event)
            if int(proof.get("tree_size", -1)) != checkpoint.size:
                raise VerificationError("the proof is for another tree size than the checkpoint")
            if int(proof.get("leaf_index", -1)) != int(event.get("leaf_index", -2)):
                raise VerificationError("the proof is for another leaf than the event's")
            verify_inclusion(
                int(proof["leaf_index"]), checkpoint.size, digest, _hashes(proof), checkpoint.root
            )
            print(
                f"included: event {event['id']} is leaf {proof['leaf_index']} of the "
                f"{checkpoint.size}-event log {checkpoint.origin} signed by {verifier.name}"
            )
            return 0
        old = open_checkpoint(_read(args.old), verifier)
        new = open_checkpoint(_read(args.new), verifier, old.origin)
        if (int(proof.get("first", -1)), int(proof.get("second", -1))) != (old.size, new.size):
            raise VerificationError("the proof is for other sizes than the two checkpoints")
        verify_consistency(old.size, new.size, _hashes(proof), old.root, new.root)
        print(f"consistent: the {new.size}-event log extends the {old.size}-event log")
        return 0
    except (VerificationError, ValueError, KeyError, OSError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
