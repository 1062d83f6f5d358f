from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import CurrentPrincipal, Session
from app.me import service
from app.me.schemas import MeRead
from app.schemas import AUTH_ERRORS, errors

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MeRead, responses=errors(*AUTH_ERRORS))
async def get_me(session: Session, principal: CurrentPrincipal) -> MeRead:
    """The caller: token claims, linked person, accounts they run, sign-offs they owe."""
    return await service.me(session, principal)
