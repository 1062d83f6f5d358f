"""The SCIM 2.0 service provider at /scim/v2 (RFC 7643 / 7644).

A FastAPI application of its own, mounted by `create_app`: SCIM has its own discovery
(ServiceProviderConfig, ResourceTypes, Schemas) and its own media type and error format
(`application/scim+json`, RFC 7644 §3.12), so it is kept out of the registry's OpenAPI
contract (whose tests hold every operation to problem+json and the JWT roles), and every
error under /scim/v2 — unknown path, wrong method, bad JSON included — is a SCIM error.
It shares the registry's state (database, settings) and its one-transaction-per-request
session. Callers authenticate with a force's SCIM credential, never a JWT."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    InvalidValueException,
    Patch,
    ResourceType,
    SCIMException,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    User,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth.deps import Session
from app.auth.principal import Principal
from app.context import request_id_var
from app.errors import AppError, Unauthorized
from app.scim import credentials, users

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = users.LIST_RESPONSE
PREFIX = "/scim/v2"

log = logging.getLogger(__name__)


def scim_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(body, status_code=status, headers=headers, media_type=SCIM_MEDIA_TYPE)


def scim_error(
    status: int,
    detail: str,
    scim_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return scim_response(body, status, headers)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


async def scim_principal(request: Request, session: Session) -> Principal:
    header = request.headers.get("authorization") or ""
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("A SCIM credential is required: 'Authorization: Bearer <secret>'.")
    return await credentials.authenticate(session, secret.strip())


Provisioner = Annotated[Principal, Depends(scim_principal)]
FilterQuery = Annotated[str | None, Query(alias="filter", max_length=2000)]
StartIndex = Annotated[int, Query(alias="startIndex")]
Count = Annotated[int | None, Query(alias="count")]
Attributes = Annotated[str | None, Query(alias="attributes", max_length=2000)]
Excluded = Annotated[str | None, Query(alias="excludedAttributes", max_length=2000)]


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SCIMException(detail="The body is not valid JSON.") from exc


def _config(base: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        # Validated into a Reference[External]; the model's signature wants one already.
        documentation_uri="https://registry.police.uk/docs/scim",  # type: ignore[arg-type]
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=users.MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="SCIM credential",
                description="A force's SCIM bearer secret (POST "
                "/api/v1/forces/{code}/scim-credentials).",
                primary=True,
            )
        ],
    )
    doc = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    doc["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base}/ServiceProviderConfig",
    }
    return doc


def _schemas(base: str) -> list[dict[str, Any]]:
    out = []
    for model in (User, EnterpriseUser):
        doc = model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        doc["meta"] = {"resourceType": "Schema", "location": f"{base}/Schemas/{doc['id']}"}
        out.append(doc)
    return out


def _resource_types(base: str) -> list[dict[str, Any]]:
    doc = ResourceType.from_resource(users.ScimUserModel).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE
    )
    doc["meta"] = {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"}
    return [doc]


def _list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def create_scim_app(parent: FastAPI) -> FastAPI:
    """The /scim/v2 application, sharing `parent`'s state."""
    scim = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    scim.state = parent.state

    @scim.get("/ServiceProviderConfig")
    async def service_provider_config(request: Request, _p: Provisioner) -> Response:
        return scim_response(_config(_base_url(request)))

    @scim.get("/Schemas")
    async def list_schemas(request: Request, _p: Provisioner) -> Response:
        return scim_response(_list(_schemas(_base_url(request))))

    @scim.get("/Schemas/{schema_id}")
    async def get_schema(schema_id: str, request: Request, _p: Provisioner) -> Response:
        for doc in _schemas(_base_url(request)):
            if doc["id"].lower() == schema_id.lower():
                return scim_response(doc)
        return scim_error(404, f"No schema {schema_id}.")

    @scim.get("/ResourceTypes")
    async def list_resource_types(request: Request, _p: Provisioner) -> Response:
        return scim_response(_list(_resource_types(_base_url(request))))

    @scim.get("/ResourceTypes/{type_id}")
    async def get_resource_type(type_id: str, request: Request, _p: Provisioner) -> Response:
        for doc in _resource_types(_base_url(request)):
            if doc["id"].lower() == type_id.lower():
                return scim_response(doc)
        return scim_error(404, f"No resource type {type_id}.")

    @scim.get("/Users")
    async def list_users(
        request: Request,
        session: Session,
        principal: Provisioner,
        filter_: FilterQuery = None,
        start_index: StartIndex = 1,
        count: Count = None,
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> Response:
        answer = await users.search(
            session,
            principal,
            filter_=filter_,
            start_index=start_index,
            count=count,
            base_url=_base_url(request),
            params=users.params_of(attributes, excluded),
        )
        return scim_response(answer)

    async def _search(request: Request, session: Any, principal: Principal) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise SCIMException(detail="The body must be a SCIM SearchRequest.")
        try:
            search: SearchRequest[Any] = SearchRequest.model_validate(body)
        except ValidationError as exc:
            raise InvalidValueException(detail=str(exc.errors()[0]["msg"])) from exc
        answer = await users.search(
            session,
            principal,
            filter_=str(search.filter) if search.filter else None,
            start_index=search.start_index or 1,
            count=search.count,
            base_url=_base_url(request),
            params=users.params_of(
                ",".join(str(a) for a in search.attributes or []) or None,
                ",".join(str(a) for a in search.excluded_attributes or []) or None,
            ),
        )
        return scim_response(answer)

    @scim.post("/Users/.search")
    async def search_users(request: Request, session: Session, principal: Provisioner) -> Response:
        return await _search(request, session, principal)

    @scim.post("/.search")
    async def search_all(request: Request, session: Session, principal: Provisioner) -> Response:
        return await _search(request, session, principal)

    @scim.post("/Users")
    async def create_user(request: Request, session: Session, principal: Provisioner) -> Response:
        base = _base_url(request)
        person_id, answer = await users.create(session, principal, await _body(request), base)
        return scim_response(answer, 201, {"Location": f"{base}/Users/{person_id}"})

    @scim.get("/Users/{user_id}")
    async def get_user(
        user_id: str,
        request: Request,
        session: Session,
        principal: Provisioner,
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> Response:
        params = users.params_of(attributes, excluded)
        answer = await users.get(session, principal, user_id, _base_url(request), params)
        return scim_response(answer)

    @scim.put("/Users/{user_id}")
    async def replace_user(
        user_id: str, request: Request, session: Session, principal: Provisioner
    ) -> Response:
        body = await _body(request)
        return scim_response(
            await users.replace(session, principal, user_id, body, _base_url(request))
        )

    @scim.patch("/Users/{user_id}")
    async def patch_user(
        user_id: str, request: Request, session: Session, principal: Provisioner
    ) -> Response:
        body = await _body(request)
        return scim_response(
            await users.patch(session, principal, user_id, body, _base_url(request))
        )

    @scim.delete("/Users/{user_id}")
    async def delete_user(user_id: str, session: Session, principal: Provisioner) -> Response:
        await users.delete(session, principal, user_id)
        return Response(status_code=204)

    _install_errors(scim)
    return scim


def _install_errors(scim: FastAPI) -> None:
    async def scim_exception(_request: Request, exc: SCIMException) -> Response:
        error = exc.to_error()
        return scim_error(int(error.status or 400), error.detail or "Error.", error.scim_type)

    async def app_error(_request: Request, exc: AppError) -> Response:
        # The registry's rules answered in SCIM's terms: its 422 (input the rules refuse)
        # is SCIM's 400 invalidValue, a duplicate is `uniqueness`.
        status = 400 if exc.status == 422 else exc.status
        scim_type = {400: "invalidValue", 409: "uniqueness"}.get(status)
        return scim_error(status, exc.detail, scim_type, exc.headers or None)

    async def validation(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return scim_error(400, f"{where}: {first.get('msg', 'invalid')}", "invalidValue")

    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        detail = "No such resource." if exc.status_code == 404 else str(exc.detail)
        return scim_error(exc.status_code, detail, headers=exc.headers)

    async def integrity(_request: Request, _exc: IntegrityError) -> Response:
        return scim_error(409, "The change conflicts with the registry's records.", "uniqueness")

    async def unavailable(_request: Request, _exc: OperationalError) -> Response:
        log.warning("database unavailable", extra={"request_id": request_id_var.get()})
        return scim_error(503, "The database is unavailable; retry.", headers={"Retry-After": "5"})

    async def unexpected(request: Request, exc: Exception) -> Response:
        rid = request.scope.get("request_id") or request_id_var.get()
        log.error("unhandled SCIM error (request %s)", rid, exc_info=exc)
        return scim_error(500, f"Something went wrong on our side. Quote request id {rid}.")

    scim.add_exception_handler(SCIMException, scim_exception)  # type: ignore[arg-type]
    scim.add_exception_handler(AppError, app_error)  # type: ignore[arg-type]
    scim.add_exception_handler(RequestValidationError, validation)  # type: ignore[arg-type]
    scim.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    scim.add_exception_handler(IntegrityError, integrity)  # type: ignore[arg-type]
    scim.add_exception_handler(OperationalError, unavailable)  # type: ignore[arg-type]
    scim.add_exception_handler(Exception, unexpected)
