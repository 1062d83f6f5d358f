from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class RateLimitHit(Base):
    """Requests admitted per client key in one fixed window of the public rate limit.

    Shared by every API process on one database (PostgreSQL); rows older than the
    previous window are deleted as windows pass. UNLOGGED on PostgreSQL: counters are
    not worth a WAL record each, and losing them in a crash only resets the limit.
    """

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_index: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(sa.Integer)
