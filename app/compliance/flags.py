"""The compliance and health flags of SPEC §7 as SQL expressions over `accounts`.

Interface (implemented by the compliance work; until then no flag is ever raised):
- `flag_expression(flag, now)`: a boolean SQL expression correlated to `Account`, usable
  in WHERE (`GET /accounts?flag=`) and in SELECT (one statement reads an account and its
  flags).
- `flag_columns(now)`: every flag as a labelled column, in FLAGS order.
- `flags_of(row)`: the names of the flags that are true in a row selected with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.models.enums import FLAGS


def flag_expression(flag: str, now: datetime) -> sa.ColumnElement[bool]:
    if flag not in FLAGS:
        raise ValueError(f"unknown flag {flag!r}")
    return sa.false()


def flag_columns(now: datetime) -> list[sa.Label[bool]]:
    return [flag_expression(flag, now).label(f"flag_{flag}") for flag in FLAGS]


def flags_of(row: Any) -> list[str]:
    return [flag for flag in FLAGS if getattr(row, f"flag_{flag}", False)]
