"""The workflow's rules as data and as service calls."""

from __future__ import annotations

import pytest

from app.auth.principal import Principal
from app.errors import ValidationFailed
from app.workflows import service
from app.workflows.checklists import CHECKLISTS, item_of
from app.workflows.schemas import parse_details
from app.workflows.states import COMPLETE_ON_APPROVAL, MOVES
from tests.factories import make_account
from tests.workflows.world import make_world


def test_the_state_machine_has_exactly_the_specified_moves():
    assert {(m.source, m.target) for m in MOVES.values()} == {
        ("submitted", "approved"),
        ("submitted", "rejected"),
        ("submitted", "withdrawn"),
        ("approved", "completed"),
        ("approved", "cancelled"),
    }
    assert {a for a, m in MOVES.items() if m.four_eyes} == {"approve", "reject", "complete"}
    assert [a for a, m in MOVES.items() if m.comment_required] == ["reject"]
    assert "staff" not in MOVES["approve"].roles | MOVES["cancel"].roles


def test_kinds_that_complete_on_approval_have_nothing_to_tick():
    assert all(CHECKLISTS[kind] == () for kind in COMPLETE_ON_APPROVAL)


def test_followers_redirected_is_required_only_when_redirecting():
    item = item_of("decommission", "followers_redirected")
    assert item is not None
    assert item.required({"reason_code": "centralised", "redirect_account_id": "x"})
    assert not item.required({"reason_code": "dormant"})
    assert item_of("decommission", "owner_signed_guidelines") is None


@pytest.mark.parametrize(
    ("kind", "details", "loc"),
    [
        ("decommission", {"reason_code": "bored"}, ["body", "details", "reason_code"]),
        ("registration", {"anything": 1}, ["body", "details", "anything"]),
        ("owner_change", {}, ["body", "details", "new_owner_id"]),
        ("transfer", {"objectives": ["ok"] * 101}, ["body", "details", "objectives"]),
    ],
)
def test_details_are_validated_per_kind(kind, details, loc):
    with pytest.raises(ValidationFailed) as caught:
        parse_details(kind, details)
    assert caught.value.extra["errors"][0]["loc"] == loc


async def test_open_request_refuses_a_second_open_request_on_the_account(session):
    w = await make_world(session)
    account = await make_account(session, w.force, owner=w.officer)
    principal = Principal(
        sub="ca", name=None, roles=frozenset({"comms_admin"}), force="staffs", force_id=w.force.id
    )
    first = await service.open_request(
        session, principal, kind="decommission", account=account, reason="",
        details={"reason_code": "dormant"},
    )  # fmt: skip
    await session.commit()
    assert first.status == "submitted" and first.requested_by == "ca"
    with pytest.raises(service.RequestAlreadyOpen):
        await service.open_request(
            session, principal, kind="owner_change", account=account, reason="",
            details={"new_owner_id": str(w.colleague.id)},
        )  # fmt: skip
    await session.rollback()
