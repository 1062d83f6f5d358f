from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.schemas import Output


class AuditEventRead(Output):
    id: int
    at: datetime
    actor_sub: str | None = Field(
        description="Null where the event is about people the caller may not see "
        "(their `changes` then carry no person either)."
    )
    actor_roles: list[str]
    actor_force: str | None
    force_id: uuid.UUID | None
    action: str
    entity_type: str
    entity_id: str | None = Field(description="Null for a person the caller may not see.")
    changes: dict[str, Any] = Field(
        description="Per field: `[old, new]` for an edit; the value itself where an event "
        "records an object as made (a force, a unit)."
    )
    request_id: str | None


class AuditEventLeafRead(AuditEventRead):
    leaf_index: int | None = Field(
        description="The event's leaf in the Merkle tree (null until it is sequenced)."
    )
    leaf: str | None = Field(
        description="Base64 of the event's canonical bytes (the Merkle leaf); null where the "
        "event is shown redacted (the leaf would name whom the caller may not see)."
    )
    leaf_hash: str = Field(
        description="Base64 of SHA-256(0x00 || leaf): what an inclusion proof is checked "
        "against, given to every caller who may read the event."
    )


class VerifyRead(Output):
    ok: bool
    events_checked: int
    first_broken_id: int | None = Field(description="The first event that no longer checks.")
    tree_size: int
    root_hash: str = Field(description="Base64 root hash of the recomputed tree.")
    checkpoints_checked: int
    problems: list[str] = Field(description="Everything that failed, each named.")
    pending: int = Field(description="Committed events not yet sequenced into the tree.")


class CheckpointRead(Output):
    id: int
    origin: str
    tree_size: int
    root_hash: str = Field(description="Base64 SHA-256 root of the tree at tree_size.")
    note: str = Field(description="The C2SP signed note (tlog-checkpoint body + signature).")
    created_at: datetime


class InclusionProofRead(BaseModel):
    leaf_index: int
    tree_size: int
    hashes: list[str] = Field(description="RFC 9162 §2.1.3 inclusion path, base64.")


class ConsistencyProofRead(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, base64.")


class AuditKeyRead(BaseModel):
    verifier_key: str = Field(description="C2SP signed-note verifier key name+id+key.")
