"""The service's one source of "now", so time-dependent rules can be tested with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    return now().date()


def freeze(at: datetime | None) -> None:
    """Fix the clock at `at` (None thaws it). For tests and the demo seed only."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at


@contextmanager
def frozen_at(at: datetime) -> Iterator[None]:
    """Run a block with the clock fixed at `at`, then put back what was there before (the
    demo plays its history forward through the services)."""
    global _frozen
    previous = _frozen
    freeze(at)
    try:
        yield
    finally:
        _frozen = previous
