"""The error hierarchy and the one renderer that turns errors into RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from fastapi.responses import JSONResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://registry.police.uk/problems/"


class AppError(Exception):
    """A failure the caller can act on. Subclasses set code, status and title."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        # `code=` narrows a generic error (e.g. Forbidden(code="four-eyes")).
        self.problem_code: str = extra.pop("code", None) or self.code
        self.extra = extra
        self.headers: dict[str, str] = {}

    def to_problem(self) -> dict[str, Any]:
        return problem(self.status, self.problem_code, self.title, self.detail, **self.extra)


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


class NotFound(AppError):
    code = "not-found"
    status = 404
    title = "Not found"


class Unauthorized(AppError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'


class Forbidden(AppError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class Conflict(AppError):
    code = "conflict"
    status = 409
    title = "Conflict"


class ValidationFailed(AppError):
    """Input the schema accepted but the rules refuse (422)."""

    code = "validation-failed"
    status = 422
    title = "Invalid input"

    def __init__(
        self, detail: str | None = None, errors: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail, errors=errors or [], **extra)


class PreconditionRequired(AppError):
    code = "precondition-required"
    status = 428
    title = "Precondition required"


class PreconditionFailed(AppError):
    code = "precondition-failed"
    status = 412
    title = "Precondition failed"


class PayloadTooLarge(AppError):
    code = "payload-too-large"
    status = 413
    title = "Payload too large"


class RateLimited(AppError):
    code = "rate-limited"
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or f"Rate limit exceeded; retry after {retry_after} s.")
        self.headers["Retry-After"] = str(retry_after)


class NoPersonRecord(Conflict):
    code = "no-person-record"
    title = "No person record"


class IdempotencyKeyReused(AppError):
    code = "idempotency-key-reused"
    status = 422
    title = "Idempotency key reused with a different request"


# --- The one renderer -------------------------------------------------------------

_STATUS_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    408: ("request-timeout", "Request timeout"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Invalid input"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def problem_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def _validation_errors(errors: Any) -> list[dict[str, Any]]:
    # Never echo the input back: it may be huge, binary, or personal data.
    out = []
    for err in errors:
        loc = [part if isinstance(part, (str, int)) else str(part) for part in err.get("loc", ())]
        out.append(
            {"loc": loc, "msg": str(err.get("msg", "invalid"))[:500], "type": err.get("type")}
        )
    return out


def _allowed_methods(request: Any) -> str:
    """Every method the API serves at this path. The router's own 405 names only the
    methods of the first route whose path matched; the document knows them all."""
    from starlette.routing import compile_path

    state = request.app.state
    index = getattr(state, "allow_index", None)
    if index is None:
        paths = request.app.openapi().get("paths", {})
        index = [
            (compile_path(path)[0], "{" not in path, {m.upper() for m in item if m in _METHODS})
            for path, item in paths.items()
        ]
        state.allow_index = index
    matched = [(static, found) for regex, static, found in index if regex.match(request.url.path)]
    # A concrete path wins over templated ones (OpenAPI's matching rule): `/requests/bulk`
    # is not `/requests/{request_id}`.
    if any(static for static, _ in matched):
        matched = [m for m in matched if m[0]]
    methods = set().union(*(found for _, found in matched))
    return ", ".join(sorted(methods))


_METHODS = ("get", "post", "put", "patch", "delete")


def unavailable_response(exc: BaseException) -> Any:
    """503 for a database that cannot be used now: one log line naming the cause, no
    traceback (a lost database fails every request, and the log must stay readable)."""
    import logging

    from app.context import request_id_var

    cause: BaseException = exc
    while getattr(cause, "orig", None) is not None or cause.__cause__ is not None:
        cause = getattr(cause, "orig", None) or cause.__cause__  # type: ignore[assignment]
    logging.getLogger("app.errors").warning(
        "database unavailable: %s",
        type(cause).__name__,
        extra={"request_id": request_id_var.get(), "error": str(cause)[:200]},
    )
    locked = "locked" in str(cause).lower()
    detail = "The database is busy; retry." if locked else "The database is unavailable; retry."
    body = problem(503, "unavailable", "Service unavailable", detail)
    return problem_response(503, body, {"Retry-After": "1" if locked else "5"})


def install_handlers(app: Any) -> None:
    import logging

    from fastapi.exceptions import RequestValidationError
    from sqlalchemy.exc import IntegrityError, OperationalError
    from sqlalchemy.orm.exc import StaleDataError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from app.context import request_id_var

    log = logging.getLogger("app.errors")

    async def app_error(_request: Any, exc: AppError) -> Any:
        return problem_response(exc.status, exc.to_problem(), exc.headers)

    async def validation_error(_request: Any, exc: RequestValidationError) -> Any:
        errors = _validation_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            body = problem(400, "malformed-json", "Malformed JSON", "The body is not valid JSON.")
            return problem_response(400, body)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        body = problem(422, "validation-failed", "Invalid input", detail, errors=errors)
        return problem_response(422, body)

    async def http_error(request: Any, exc: StarletteHTTPException) -> Any:
        code, title = _STATUS_CODES.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such resource."
        headers = exc.headers
        allowed = _allowed_methods(request) if exc.status_code == 405 else None
        if allowed:
            headers = {**(headers or {}), "Allow": allowed}
        return problem_response(
            exc.status_code, problem(exc.status_code, code, title, detail), headers
        )

    async def stale(_request: Any, _exc: StaleDataError) -> Any:
        err = PreconditionFailed("The object changed while you edited it; fetch it again.")
        return problem_response(412, err.to_problem())

    async def integrity(_request: Any, exc: IntegrityError) -> Any:
        log.warning("integrity conflict", extra={"request_id": request_id_var.get()})
        err = Conflict("The change conflicts with the current state of the registry.")
        return problem_response(409, err.to_problem())

    async def operational(_request: Any, exc: Exception) -> Any:
        return unavailable_response(exc)

    async def unexpected(request: Any, exc: Exception) -> Any:
        from app.db import unavailable

        if unavailable(exc):
            return unavailable_response(exc)
        rid = request.scope.get("request_id") or request_id_var.get()
        log.error("unhandled error (request %s)", rid, exc_info=exc)
        body = problem(
            500,
            "internal-error",
            "Internal server error",
            f"Something went wrong on our side. Quote request id {rid}.",
        )
        return problem_response(500, body)

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StaleDataError, stale)
    app.add_exception_handler(IntegrityError, integrity)
    app.add_exception_handler(OperationalError, operational)
    app.add_exception_handler(Exception, unexpected)
