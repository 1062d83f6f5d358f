"""The `registry` command: run the service, manage its database, mint dev tokens."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from app.audit.service import VerifyResult
    from app.config import Settings
    from app.retention.service import RetentionResult

app = typer.Typer(help="Social media account registry for UK police forces.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(import_app, name="import")
retention_app = typer.Typer(help="Retention of leavers' personal data.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


def _settings() -> Settings:
    from app.config import get_settings

    get_settings.cache_clear()
    return get_settings()


def _batch_settings() -> Settings:
    """For offline batch commands (seed, import): no per-statement time limit."""
    return _settings().model_copy(update={"db_statement_timeout": 0})


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _serve(host: str, port: int, workers: int | None) -> None:
    from app.config import ConfigError
    from app.ops import server

    settings = _settings()
    try:
        settings.check_secret()
    except ConfigError as exc:
        _fail(f"Refusing to start: {exc}")
    if not settings.demo_mode and not settings.database_named:
        _fail(
            "Refusing to start: REGISTRY_DATABASE_URL is not set. Name the database "
            "(postgresql://… in production, or sqlite:///path/file.db for one process); "
            "`registry demo` runs the embedded demo."
        )
    workers = workers or settings.workers
    if workers > 1 and settings.is_sqlite:
        _fail(
            "Refusing to start: SQLite serves one process (--workers 1); run several "
            "workers on PostgreSQL, where they share the rate limit and the data."
        )
    server.run(settings, host, port, workers)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default REGISTRY_WORKERS, 1).")
    ] = None,
    with_worker: Annotated[
        bool, typer.Option("--with-worker", help="Also run the outbox worker in each process.")
    ] = False,
) -> None:
    """Serve the API (production entry point; run `registry db upgrade` first)."""
    if with_worker:
        os.environ["REGISTRY_RUN_WORKER"] = "true"
    _serve(host, port, workers)


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due, run due jobs, then exit.")
    ] = False,
) -> None:
    """Deliver outbox events to webhooks and run the scheduled jobs (SIGTERM stops it)."""
    from app.db import Database
    from app.ops import logs
    from app.worker.runner import run_worker

    settings = _settings()
    if not settings.database_named:
        _fail("Refusing to start: REGISTRY_DATABASE_URL is not set.")
    logs.configure(settings.log_level, settings.log_format)

    async def _run() -> None:
        db = Database(settings)
        try:
            await run_worker(db, once)
        finally:
            await db.dispose()

    asyncio.run(_run())


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: Annotated[Path, typer.Option(help="SQLite file for the demo.")] = Path(
        "registry-demo.db"
    ),
    keep: Annotated[bool, typer.Option(help="Keep an existing demo database.")] = False,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Load data, print tokens, exit.")
    ] = False,
) -> None:
    """Embedded SQLite with demo data; prints a token for every role and serves on :8000."""
    from app import migrate
    from app.auth.tokens import mint_token
    from app.config import demo_secret_file, new_demo_secret
    from app.demo import DEMO_CALLERS, load_demo

    path = database.resolve()
    os.environ["REGISTRY_DEMO_MODE"] = "true"
    os.environ["REGISTRY_DATABASE_URL"] = f"sqlite:///{path}"
    fresh = not (keep and path.exists())
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    if fresh or not demo_secret_file(path).exists():
        # A random secret per demo database: its tokens are good for it alone.
        new_demo_secret(path)
    # Its own audit checkpoint signing key too, beside it (0600).
    audit_key = path.with_name(path.name + ".audit-key")
    if fresh or not audit_key.exists():
        from app.audit.service import write_key

        audit_key.unlink(missing_ok=True)
        write_key(audit_key, "registry-demo/audit")
    os.environ["REGISTRY_AUDIT_SIGNING_KEY_FILE"] = str(audit_key)
    settings = _settings()
    migrate.upgrade(settings.async_database_url)
    if fresh:
        asyncio.run(load_demo(settings))
    # The outbox worker runs in the demo's process, delivering to a local receiver.
    from app.outbox import demo as outbox_demo

    os.environ["REGISTRY_RUN_WORKER"] = "true"
    os.environ["REGISTRY_WEBHOOK_ALLOW_PRIVATE_URLS"] = "true"
    settings = _settings()
    webhook_id = asyncio.run(outbox_demo.add_webhook(settings, outbox_demo.start_receiver()))
    typer.secho(f"Demo database: {path}", fg=typer.colors.GREEN)
    typer.echo("Tokens (valid 12 hours), use as 'Authorization: Bearer <token>':\n")
    for caller in DEMO_CALLERS:
        token = mint_token(
            settings,
            sub=caller["sub"],
            roles=caller["roles"],
            force=caller.get("force"),
            name=caller["name"],
            ttl=12 * 3600,
        )
        typer.echo(f"  {caller['label']:<28} {token}\n")
    from app.audit.service import signer_of

    signer = signer_of(settings)
    typer.echo(f"Audit checkpoint verifier key: {signer.verifier if signer else '-'}")
    typer.echo(
        f"Webhook delivery log (a staffs comms admin's token): "
        f"http://{host}:{port}/api/v1/webhooks/{webhook_id}/deliveries"
    )
    typer.echo(f"API docs: http://{host}:{port}/docs")
    if not no_serve:
        _serve(host, port, 1)


@app.command()
def openapi() -> None:
    """Print the OpenAPI document, keys sorted: `registry openapi > openapi.json`."""
    import secrets

    from app.main import create_app
    from app.openapi import render

    # The document does not depend on the secret; the app only refuses to start without one.
    settings = _settings().model_copy(update={"jwt_secret": secrets.token_urlsafe(48)})
    typer.echo(render(create_app(settings).openapi()), nl=False)


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="Subject (the caller's identity).")],
    role: Annotated[list[str], typer.Option(help="Role; repeat for several.")],
    force: Annotated[str | None, typer.Option(help="Force code (not for national roles).")] = None,
    ttl: Annotated[int, typer.Option(min=1, max=7 * 24 * 3600, help="Lifetime in seconds.")] = 3600,
    name: Annotated[str | None, typer.Option(help="Display name claim.")] = None,
    demo_database: Annotated[
        Path,
        typer.Option(help="Without REGISTRY_JWT_SECRET: sign for this demo database."),
    ] = Path("registry-demo.db"),
) -> None:
    """Mint a development token (HS256 mode only): signed with REGISTRY_JWT_SECRET, or,
    when that is not set, for the demo database `registry demo` made here."""
    from app.auth.tokens import mint_token
    from app.config import ConfigError, demo_secret_file

    settings = _settings()
    demo = demo_database.resolve()
    if not (settings.demo_mode or settings.jwt_secret) and demo_secret_file(demo).exists():
        settings = settings.model_copy(
            update={"demo_mode": True, "database_url": f"sqlite:///{demo}"}
        )
        typer.echo(f"Signed for the demo database {demo}.", err=True)
    try:
        settings.check_secret()
        typer.echo(mint_token(settings, sub=sub, roles=role, force=force, ttl=ttl, name=name))
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default head)."""
    from app import migrate

    before, after = migrate.upgrade(_settings().async_database_url, revision)
    if before == after:
        typer.echo(f"database already at {after}")
    else:
        typer.echo(f"database migrated from {before or 'empty'} to {after}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` empties the schema)."""
    from app import migrate

    before, after = migrate.downgrade(_settings().async_database_url, revision)
    typer.echo(f"database at {after or 'base'} (was {before or 'empty'})")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the code's head."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app import migrate

    async def _current() -> str | None:
        engine = create_async_engine(_settings().async_database_url)
        try:
            async with engine.connect() as conn:
                return await migrate.current_revision(conn)
        finally:
            await engine.dispose()

    typer.echo(f"current: {asyncio.run(_current())}  head: {migrate.head_revision()}")


@db_app.command("grant-runtime")
def db_grant_runtime(
    role: Annotated[str, typer.Argument(help="The runtime role the API connects as.")],
) -> None:
    """PostgreSQL, as the owner after every upgrade: give the runtime role what the API
    needs and no more (audit tables: SELECT and INSERT only; no TRUNCATE, no ALTER)."""
    import re

    from sqlalchemy.ext.asyncio import create_async_engine

    settings = _settings()
    if settings.is_sqlite:
        _fail("Runtime roles are for PostgreSQL.")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        _fail("A role name is lower-case letters, digits and underscores.")
    statements = runtime_role_sql(role)

    async def _grant() -> None:
        engine = create_async_engine(settings.async_database_url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(_grant())
    typer.echo(f"granted the runtime role {role}")


def runtime_role_sql(role: str) -> list[str]:
    """The statements of migrations/postgres-runtime-role.sql for `role`."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "postgres-runtime-role.sql"
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("--")]
    text = "\n".join(lines).replace(':"runtime"', f'"{role}"')
    return [s.strip() for s in text.split(";") if s.strip()]


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="A checkpoint kept elsewhere (repeatable)."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="Verifier key (or a file holding it); default: the signing key's."),
    ] = None,
) -> None:
    """Recompute the audit Merkle tree; check every stored, logged and given checkpoint.
    Exit 1 naming what fails (a changed or missing event, truncation, a rewrite)."""
    from app.audit.service import read_checkpoint_file, verify_log
    from app.audit.verifier import VerificationError, Verifier
    from app.db import Database

    notes = [note for path in checkpoint or [] for note in read_checkpoint_file(path)]
    verifier = None
    if key:
        try:
            verifier = Verifier.parse(Path(key).read_text() if Path(key).is_file() else key)
        except VerificationError as exc:
            _fail(str(exc))

    async def _verify() -> VerifyResult:
        settings = _settings()
        db = Database(settings)
        try:
            return await verify_log(db, settings, external=notes, verifier=verifier)
        finally:
            await db.dispose()

    result = asyncio.run(_verify())
    if result.ok:
        typer.secho(
            f"audit log intact: {result.events_checked} events, root {result.root_hash}, "
            f"{result.checkpoints_checked} checkpoints hold",
            fg=typer.colors.GREEN,
        )
        return
    where = f" (first failing event {result.first_broken_id})" if result.first_broken_id else ""
    typer.secho(
        f"audit log BROKEN{where}: {result.events_checked} events checked",
        fg=typer.colors.RED,
        err=True,
    )
    for problem in result.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[Path, typer.Option(help="Where to write the signing key (must not exist).")],
    name: Annotated[
        str, typer.Option(help="Key name and checkpoint origin (no spaces, no '+').")
    ] = "registry.police.uk/audit",
) -> None:
    """Write a new Ed25519 checkpoint signing key (0600) and print its verifier key;
    serve with REGISTRY_AUDIT_SIGNING_KEY_FILE pointing at it."""
    from app.audit.service import write_key
    from app.audit.verifier import VerificationError

    try:
        signer = write_key(out, name)
    except FileExistsError:
        _fail(f"{out} exists; refusing to overwrite a signing key.")
    except VerificationError as exc:
        _fail(str(exc))
    typer.echo(str(signer.verifier))


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sequence every committed event and sign a checkpoint now; print the signed note."""
    from app.audit.service import make_checkpoint, sequence
    from app.db import Database
    from app.errors import AppError

    async def _checkpoint() -> str:
        settings = _settings()
        db = Database(settings)
        try:
            await sequence(db, full=True)
            return (await make_checkpoint(db, settings)).note
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(_checkpoint()), nl=False)
    except AppError as exc:
        _fail(exc.detail)


@app.command()
def seed(
    forces: Annotated[int, typer.Option(min=1, max=100, help="How many forces.")] = 50,
    accounts: Annotated[
        int, typer.Option(min=0, max=1_000_000, help="How many accounts.")
    ] = 100_000,
    people: Annotated[
        int | None, typer.Option(min=0, help="People (default 2 per account).")
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=240, help="Months of activity history.")] = 60,
    audit_events: Annotated[
        int | None, typer.Option(min=0, help="Cap on audit events (default: one per change).")
    ] = None,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed (deterministic).")] = 1,
) -> None:
    """Synthetic data at national scale (for benchmarks), with a valid audit chain."""
    from app.db import Database
    from app.seed import SeedError
    from app.seed import seed as run_seed

    async def _seed() -> dict[str, object]:
        db = Database(_batch_settings())
        try:
            return await run_seed(
                db,
                forces=forces,
                accounts=accounts,
                people=people,
                months=months,
                audit_events=audit_events,
                progress=typer.echo,
                seed=random_seed,
            )
        finally:
            await db.dispose()

    try:
        counts = asyncio.run(_seed())
    except SeedError as exc:
        _fail(str(exc))
    typer.secho(
        "seeded: " + ", ".join(f"{k}={v}" for k, v in counts.items()), fg=typer.colors.GREEN
    )


@import_app.command("accounts")
def import_accounts(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    force: Annotated[str, typer.Option(help="Code of the force the accounts belong to.")],
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing.")] = False,
) -> None:
    """Import accounts from CSV: all rows or none; every bad row reported by line."""
    import sqlalchemy as sa

    from app.audit.service import Actor
    from app.db import Database
    from app.errors import AppError
    from app.imports.service import import_accounts as run_import
    from app.imports.service import read_file
    from app.models import Force

    async def _import() -> int:
        settings = _batch_settings()
        db = Database(settings)
        try:
            async with db.session() as session:
                force_id = await session.scalar(sa.select(Force.id).where(Force.code == force))
                if force_id is None:
                    _fail(f"No force with code {force!r}.")
                actor = Actor(sub=f"cli:{os.environ.get('USER', 'operator')}", roles=["admin"],
                              force=None)  # fmt: skip
                parsed = await read_file(file.read_bytes(), settings.import_max_rows)
                result = await run_import(session, actor, force_id, parsed, dry_run)
                if not dry_run:
                    await session.commit()
                return result.created
        finally:
            await db.dispose()

    try:
        created = asyncio.run(_import())
    except AppError as exc:
        typer.secho(f"import refused: {exc.detail}", fg=typer.colors.RED, err=True)
        for err in exc.extra.get("errors", []):
            typer.echo(f"  line {err.get('line')}: {err.get('field')}: {err.get('msg')}", err=True)
        raise typer.Exit(1) from None
    verb = "would create" if dry_run else "created"
    typer.secho(f"{verb} {created} accounts", fg=typer.colors.GREEN)


@app.command()
def digests(
    now: Annotated[
        bool, typer.Option("--now", help="Send today's digests (and campaign mail) now.")
    ] = False,
) -> None:
    """Send today's email digests and the review campaigns' notices, reminders and
    escalations through REGISTRY_SMTP_HOST (each person gets one digest a day)."""
    if not now:
        _fail("Nothing done: `registry digests --now` sends today's digests at once.")
    from app import clock
    from app.campaigns.jobs import run_campaign_reminders
    from app.db import Database
    from app.mail.digests import send_due_digests
    from app.mail.smtp import MailNotConfigured

    settings = _settings()
    if not settings.smtp_host:
        _fail("REGISTRY_SMTP_HOST is not set: there is no relay to send the digests through.")

    async def _send() -> tuple[dict[str, int], dict[str, int]]:
        db = Database(settings)
        try:
            async with db.session() as session:
                campaigns = await run_campaign_reminders(session, clock.now())
                await session.commit()
            async with db.session() as session:
                sent = await send_due_digests(session, clock.now())
                await session.commit()
            return campaigns, sent
        finally:
            await db.dispose()

    try:
        campaigns, sent = asyncio.run(_send())
    except MailNotConfigured as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"The SMTP relay could not be reached: {exc}")
    typer.secho(
        f"digests sent: {sent['person']} personal, {sent['comms']} comms admin"
        f" ({sent['refused']} refused); campaigns: {campaigns['notified']} notified,"
        f" {campaigns['reminded']} reminded, {campaigns['escalated']} escalated",
        fg=typer.colors.GREEN,
    )


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option(help="Count who is due, change nothing.")] = False,
) -> None:
    """Pseudonymise leavers who left more than REGISTRY_LEAVER_RETENTION_DAYS ago (unless a
    legal hold or an open request involves an account they operated)."""
    from app import clock
    from app.db import Database
    from app.retention.service import run

    async def _run() -> RetentionResult:
        settings = _batch_settings()
        db = Database(settings)
        try:
            async with db.session(write=True) as session:
                result = await run(session, clock.today(), settings.leaver_retention_days, dry_run)
                if not dry_run:
                    await session.commit()
                return result
        finally:
            await db.dispose()

    result = asyncio.run(_run())
    verb = "would pseudonymise" if dry_run else "pseudonymised"
    typer.echo(
        f"{verb} {result.pseudonymised} leavers who left before {result.left_before}; "
        f"{result.kept_back} kept back by a legal hold or an open request"
    )


if __name__ == "__main__":
    app()
