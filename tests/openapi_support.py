"""The served OpenAPI document as the document's tests read it."""

from __future__ import annotations

from typing import Any

API = "/api/v1"
METHODS = ("get", "post", "patch", "put", "delete")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
