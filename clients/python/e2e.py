"""End to end through the Python client generated from the registry's OpenAPI document.

Run by `.ci/run` (step "generated clients") as `python clients/python/e2e.py CLIENT_DIR`,
with CLIENT_DIR holding the package `registry_client` that openapi-python-client made. It
starts a real `registry demo` server on SQLite (fresh database, its own port) and drives
it with the generated functions and models only: no hand-written HTTP. Exits non-zero on
the first step that goes wrong.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLIENT_DIR = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(CLIENT_DIR))

# The project's own command line (its venv's `registry`), named by the step.
REGISTRY = os.environ.get("REGISTRY_BIN", shutil.which("registry") or "registry")

from registry_client import AuthenticatedClient  # noqa: E402
from registry_client.api.accounts import create_account, get_account, get_custodians  # noqa: E402
from registry_client.api.imports import import_accounts  # noqa: E402
from registry_client.api.legal_holds import place_hold, release_hold  # noqa: E402
from registry_client.api.me import get_me  # noqa: E402
from registry_client.api.reports import summary_report, summary_report_csv  # noqa: E402
from registry_client.api.requests import (  # noqa: E402
    approve_request,
    complete_request,
    get_request,
    list_requests,
    set_checklist_item,
    submit_request,
)
from registry_client.models import (  # noqa: E402
    AccountCreateByHandle,
    AccountCreateByUrl,
    AccountRead,
    AccountStatus,
    ChecklistItem,
    ChecklistUpdate,
    Classification,
    CustodiansRead,
    DecommissionDetails,
    DecommissionReason,
    DecommissionRequestCreate,
    DecommissionRequestRead,
    HoldCreate,
    HoldRead,
    ImportResult,
    MoveBody,
    Platform,
    Problem,
    RegistrationRequestSummary,
    RequestStatus,
    SummaryRead,
    TransferDetails,
    TransferRequestCreate,
    TransferRequestRead,
)
from registry_client.types import File  # noqa: E402

STEPS = 0
RUN = os.urandom(3).hex()  # handles of this run's accounts


def check(condition: bool, what: str, got: Any = None) -> None:
    global STEPS
    if not condition:
        raise SystemExit(f"FAILED: {what}\n  got: {got!r}")
    STEPS += 1
    print(f"ok {STEPS:2d} {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(db: Path, sub: str, role: str, force: str | None = "staffs") -> str:
    args = [REGISTRY, "token", "--demo-database", str(db), "--sub", sub, "--role", role]
    if force:
        args += ["--force", force]
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_JWT_SECRET"}
    out = subprocess.run(  # noqa: S603 (our own command line)
        args, check=True, capture_output=True, text=True, env=env, cwd=db.parent
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    if os.environ.get("REGISTRY_E2E_BASE"):  # a demo already running (for debugging)
        scenario(os.environ["REGISTRY_E2E_BASE"], Path(os.environ["REGISTRY_E2E_DB"]))
        print(f"{STEPS} passed, 0 failed")
        return
    work = Path(tempfile.mkdtemp(prefix="registry-e2e-"))
    db = work / "registry-demo.db"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_JWT_SECRET"}
    server = subprocess.Popen(  # noqa: S603 (our own command line)
        [REGISTRY, "demo", "--database", str(db), "--port", str(port)],
        cwd=work, env=env, stdout=(work / "server.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((work / "server.log").read_text()) from None
                time.sleep(0.3)
        scenario(base, db)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    shutil.rmtree(work, ignore_errors=True)
    print(f"{STEPS} passed, 0 failed")


def scenario(base: str, db: Path) -> None:
    def client(sub: str, role: str, force: str | None = "staffs") -> AuthenticatedClient:
        return AuthenticatedClient(base_url=base, token=token(db, sub, role, force), timeout=30)

    staff = client("pc.jones@staffs", "staff")
    lead = client("comms.lead@staffs", "comms_admin")
    deputy = client("comms.deputy@staffs", "comms_admin")
    psd = client("psd.investigator@staffs", "psd")

    # 1. A staff declaration, and the registration request it opens.
    declared = create_account.sync(
        client=staff,
        body=AccountCreateByHandle(
            platform=Platform.X, handle=f"E2E{RUN}d", classification=Classification.UNOFFICIAL,
            display_name="Declared by a client",
        ),
    )  # fmt: skip
    check(isinstance(declared, AccountRead), "staff declare an account", declared)
    check(declared.status == AccountStatus.PENDING_APPROVAL, "a declaration awaits approval")
    page = list_requests.sync(client=lead, account_id=declared.id)
    opened = page.items[0] if page and page.items else None
    check(isinstance(opened, RegistrationRequestSummary), "its registration request", page)
    check(opened.status == RequestStatus.SUBMITTED, "the registration is submitted")
    approved = approve_request.sync(opened.id, client=lead, body=MoveBody(comment="Welcome."))
    # A registration is applied on approval: nothing is left to do, so it is completed.
    status = getattr(approved, "status", None)
    check(status == RequestStatus.COMPLETED, "a comms admin approves: completed", approved)
    account = get_account.sync(declared.id, client=lead)
    active = getattr(account, "status", None) == AccountStatus.ACTIVE
    check(active, "the account is active", account)

    # 2. A second account, registered by a comms admin (active at once).
    second = create_account.sync(
        client=lead,
        body=AccountCreateByUrl(
            url=f"https://x.com/E2E{RUN}s", classification=Classification.UNOFFICIAL
        ),
    )
    check(isinstance(second, AccountRead), "a comms admin registers a second account", second)
    check(second.status == AccountStatus.ACTIVE, "registered by a comms admin: active")

    # 3. Custodians before the transfer, then the transfer: approved by another comms admin,
    # its checklist worked by that admin, completed.
    custodians = get_custodians.sync(declared.id, client=lead)
    check(isinstance(custodians, CustodiansRead), "custodians before the transfer", custodians)
    me = get_me.sync(client=staff)
    owner_id = me.person.id  # the declaring officer, who signed the current guidelines
    transfer = submit_request.sync(
        client=lead,
        body=TransferRequestCreate(
            kind="transfer", account_id=declared.id, reason="Into official oversight.",
            details=TransferDetails(owner_id=owner_id),
        ),
    )  # fmt: skip
    check(isinstance(transfer, TransferRequestRead), "submit a transfer", transfer)
    refused = approve_request.sync(transfer.id, client=lead)
    four_eyes = isinstance(refused, Problem) and refused.code == "four-eyes"
    check(four_eyes, "no approving one's own request", refused)
    current = get_request.sync_detailed(transfer.id, client=deputy)
    approved = approve_request.sync(
        transfer.id, client=deputy, if_match=current.headers["ETag"], body=MoveBody()
    )
    check(isinstance(approved, TransferRequestRead), "another comms admin approves", approved)
    for entry in approved.checklist:
        if not entry.done:
            ticked = set_checklist_item.sync(
                transfer.id, ChecklistItem(entry.item.value), client=deputy,
                body=ChecklistUpdate(done=True, note="Done."),
            )  # fmt: skip
            check(isinstance(ticked, TransferRequestRead), f"tick {entry.item.value}", ticked)
    done = complete_request.sync(transfer.id, client=deputy)
    check(getattr(done, "status", None) == RequestStatus.COMPLETED, "the transfer completes", done)
    account = get_account.sync(declared.id, client=lead)
    check(account.classification == Classification.OFFICIAL, "the account is official")

    # 4. A decommission blocked by a legal hold, then completed once it is released.
    closing = submit_request.sync(
        client=lead,
        body=DecommissionRequestCreate(
            kind="decommission", account_id=second.id, reason="Duplicate of the corporate feed.",
            details=DecommissionDetails(reason_code=DecommissionReason.DUPLICATE),
        ),
    )  # fmt: skip
    check(isinstance(closing, DecommissionRequestRead), "submit a decommission", closing)
    approved = approve_request.sync(closing.id, client=deputy)
    check(isinstance(approved, DecommissionRequestRead), "the decommission is approved", approved)
    for entry in approved.checklist:
        if entry.required and not entry.done:
            set_checklist_item.sync(
                closing.id, ChecklistItem(entry.item.value), client=deputy,
                body=ChecklistUpdate(done=True),
            )  # fmt: skip
    hold = place_hold.sync(
        second.id, client=psd,
        body=HoldCreate(case_reference="PSD/E2E/1", reason="Preserve the records."),
    )  # fmt: skip
    check(isinstance(hold, HoldRead), "PSD places a legal hold", hold)
    blocked = complete_request.sync(closing.id, client=deputy)
    check(isinstance(blocked, Problem) and blocked.status == 409, "the hold blocks it", blocked)
    released = release_hold.sync(second.id, hold.id, client=psd)
    check(isinstance(released, HoldRead), "PSD releases the hold", released)
    done = complete_request.sync(closing.id, client=deputy)
    status = getattr(done, "status", None)
    check(status == RequestStatus.COMPLETED, "the decommission completes", done)
    account = get_account.sync(second.id, client=lead)
    check(account.status == AccountStatus.DECOMMISSIONED, "the account is decommissioned")

    # 5. An account import from CSV.
    rows = (
        f"url,display_name,classification,status\n"
        f"https://x.com/E2E{RUN}i,Imported by a client,official,active\n"
    )
    result = import_accounts.sync(
        client=lead,
        body=File(payload=io.BytesIO(rows.encode()), file_name="accounts.csv",
                  mime_type="text/csv"),
    )  # fmt: skip
    check(isinstance(result, ImportResult), "import accounts from CSV", result)
    check(result.created == 1, "one account imported", result)

    # 6. The summary report, as JSON and as CSV.
    summary = summary_report.sync(client=lead)
    check(isinstance(summary, SummaryRead), "the summary report as JSON", summary)
    staffs = next(f for f in summary.forces if f.force == "staffs")
    check(staffs.by_status.decommissioned >= 1, "its typed counts", staffs.by_status)
    # text/csv is read as bytes (config.yaml: CSV is binary to this generator).
    csv_bytes = summary_report_csv.sync(client=lead)
    check(isinstance(csv_bytes, bytes), "the summary report as CSV", csv_bytes)
    csv_text = csv_bytes.decode()
    check(csv_text.startswith("force,name,total"), "the CSV's header", csv_text[:200])
    check("staffs" in csv_text, "the CSV has the force's row", csv_text[:200])


if __name__ == "__main__":
    main()
