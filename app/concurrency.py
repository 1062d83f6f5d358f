"""ETags and If-Match for optimistic concurrency."""

from __future__ import annotations

from app.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    return f'"v{version}"'


def check_if_match(if_match: str | None, current_version: int) -> None:
    """428 without If-Match, 412 when it names a version other than the current one."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("Send If-Match with the ETag you last read.")
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in wanted or etag(current_version) in wanted:
        return
    raise PreconditionFailed("The object changed since you read it; fetch it again.")
