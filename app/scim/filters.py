"""SCIM filters (RFC 7644 §3.4.2.2), parsed by scim2-models, as SQL over the people table.

Only the attributes the registry maps are filterable; any other attribute is answered
400 `invalidFilter` naming the ones that are."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy.orm import QueryableAttribute

from app.models import Person

# SCIM attribute (lower case) -> (column, compared case-insensitively).
COLUMNS: dict[str, tuple[QueryableAttribute[Any], bool]] = {
    "id": (Person.id, False),
    "username": (Person.subject, True),
    "externalid": (Person.staff_id, False),
    "displayname": (Person.name, True),
    "name.formatted": (Person.name, True),
    "title": (Person.job_title, True),
    "emails": (Person.email, True),
    "emails.value": (Person.email, True),
    "active": (Person.status, False),
}
_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:user"
FILTERABLE = "id, userName, externalId, displayName, name.formatted, title, emails.value, active"


def _key(path: AttrPath) -> str:
    if path.uri and path.uri.lower() != _USER_URN:
        return "?"
    return f"{path.attr}.{path.sub_attr}".lower() if path.sub_attr else path.attr.lower()


def _column(path: AttrPath) -> tuple[QueryableAttribute[Any], bool, str]:
    key = _key(path)
    if key not in COLUMNS:
        raise InvalidFilterException(
            detail=f"Filtering on {key!r} is not supported; filterable: {FILTERABLE}."
        )
    column, fold = COLUMNS[key]
    return column, fold, key


def _compare(node: Comparison) -> sa.ColumnElement[bool]:
    column, fold, key = _column(node.attr_path)
    value = node.value
    if key == "active":
        if not isinstance(value, bool) or node.op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(detail="active compares with eq or ne to true or false.")
        wanted = column == ("active" if value else "left")
        return wanted if node.op is CompareOperator.eq else sa.not_(wanted)
    if value is None:
        return column.is_(None) if node.op is CompareOperator.eq else column.is_not(None)
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{key} compares with a string.")
    if key == "id":
        try:
            as_id = uuid.UUID(value)
        except ValueError:
            return sa.false() if node.op is CompareOperator.eq else sa.true()
        if node.op is CompareOperator.eq:
            return column == as_id
        if node.op is CompareOperator.ne:
            return column != as_id
        raise InvalidFilterException(detail="id compares with eq or ne.")
    left = sa.func.lower(column) if fold else column
    right = value.lower() if fold else value
    escaped = right.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    match node.op:
        case CompareOperator.eq:
            return left == right
        case CompareOperator.ne:
            return sa.or_(left != right, column.is_(None))
        case CompareOperator.co:
            return left.like(f"%{escaped}%", escape="\\")
        case CompareOperator.sw:
            return left.like(f"{escaped}%", escape="\\")
        case CompareOperator.ew:
            return left.like(f"%{escaped}", escape="\\")
        case CompareOperator.gt:
            return left > right
        case CompareOperator.ge:
            return left >= right
        case CompareOperator.lt:
            return left < right
        case CompareOperator.le:
            return left <= right
    raise InvalidFilterException(detail=f"Unsupported operator {node.op}.")


def _sql(node: FilterNode) -> sa.ColumnElement[bool]:
    if isinstance(node, LogicalExpr):
        terms = [_sql(term) for term in node.terms]
        return sa.and_(*terms) if node.op is LogicalOperator.and_ else sa.or_(*terms)
    if isinstance(node, Not):
        return sa.not_(_sql(node.expr))
    if isinstance(node, Present):
        column, _fold, key = _column(node.attr_path)
        return sa.true() if key == "active" else column.is_not(None)
    if isinstance(node, Comparison):
        return _compare(node)
    if isinstance(node, ValuePath) and node.attr_path.attr.lower() == "emails":
        # emails[type eq "work" and value eq "x"]: the one email kept is the work one.
        return _emails(node.val_filter)
    raise InvalidFilterException(detail=f"Filter not supported; filterable: {FILTERABLE}.")


def _emails(node: FilterNode) -> sa.ColumnElement[bool]:
    if isinstance(node, LogicalExpr):
        terms = [_emails(term) for term in node.terms]
        return sa.and_(*terms) if node.op is LogicalOperator.and_ else sa.or_(*terms)
    if isinstance(node, Comparison) and node.attr_path.attr.lower() == "type":
        return sa.true() if str(node.value).lower() == "work" else sa.false()
    if isinstance(node, Comparison) and node.attr_path.attr.lower() == "value":
        return _compare(Comparison(AttrPath(attr="emails"), node.op, node.value))
    if isinstance(node, Present) and node.attr_path.attr.lower() == "value":
        return Person.email.is_not(None)
    raise InvalidFilterException(detail="Within emails[...], filter on type and value.")


def where(expression: str | None) -> sa.ColumnElement[bool]:
    """The WHERE clause of a SCIM filter; 400 `invalidFilter` for one that does not parse
    or names an attribute the registry does not keep."""
    if not expression:
        return sa.true()
    try:
        parsed: ScimFilter[Any] = ScimFilter(expression)
        node = parsed.ast
    except InvalidFilterException:
        raise
    except Exception as exc:  # the parser's own syntax errors
        raise InvalidFilterException(detail=f"Invalid filter: {exc}") from exc
    return _sql(node)
