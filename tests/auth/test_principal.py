"""A Principal cannot represent a caller mixing a national role with a force role."""

from __future__ import annotations

import uuid

import pytest

from app.auth.principal import MixedRoles, Principal


@pytest.mark.parametrize("force_role", ["staff", "comms_admin", "psd", "collector"])
def test_a_principal_mixing_auditor_and_a_force_role_cannot_be_built(force_role):
    with pytest.raises(MixedRoles) as refused:
        Principal("x", None, frozenset({"auditor", force_role}), "met", uuid.uuid4())
    assert refused.value.status == 403 and refused.value.problem_code == "mixed-roles"
    assert force_role in refused.value.detail and "auditor" in refused.value.detail


@pytest.mark.parametrize(
    "roles",
    [{"admin", "comms_admin"}, {"admin", "auditor", "psd"}, {"comms_admin", "psd"}, {"auditor"}],
)
def test_admin_with_anything_and_force_roles_together_are_representable(roles):
    principal = Principal("x", None, frozenset(roles), "met", uuid.uuid4())
    assert principal.roles == roles
