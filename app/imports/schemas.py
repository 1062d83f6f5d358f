from __future__ import annotations

from pydantic import Field

from app.schemas import Output


class ImportResult(Output):
    created: int = Field(description="Accounts created (or, for a dry run, that would be).")
