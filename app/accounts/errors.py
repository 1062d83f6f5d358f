"""The account domain's errors (SPEC codes)."""

from __future__ import annotations

from app.errors import Conflict, NotFound


class AccountNotFound(NotFound):
    code = "account-not-found"


class PersonNotFound(NotFound):
    code = "person-not-found"


class EditorNotFound(NotFound):
    code = "editor-not-found"


class DuplicateAccount(Conflict):
    code = "duplicate-account"
    title = "Account already registered"


class AlreadyEditor(Conflict):
    code = "already-editor"
    title = "Already an editor"


class AlreadyOwner(Conflict):
    code = "already-owner"
    title = "Already the owner"


class GuidelinesNotSigned(Conflict):
    code = "guidelines-not-signed"
    title = "Guidelines not signed"
