"""`baton` command line: sync, demo, sandbox, status."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from cli import interrupts, views
from cli.interrupts import Interrupted, run_until_signal
from connectors.errors import (
    AuthenticationFailed,
    ConnectorError,
    RequestRejected,
    TimedOut,
    Unreachable,
)
from connectors.http import RetryPolicy
from connectors.mailchimp import LIST_NOT_FOUND
from flows.settings import Settings, SettingsProblem
from mapping.errors import MappingConfigError
from state.database import Database

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Baton keeps a CRM and an email platform in step.",
)
# A pipe or a CI log has no width of its own: COLUMNS, else a wide default.
out = Console() if Console().is_terminal else Console(width=int(os.environ.get("COLUMNS", 120)))
err = Console(stderr=True) if Console(stderr=True).is_terminal else Console(stderr=True, width=200)


def fail(message: str) -> NoReturn:
    """One line on stderr naming what is wrong, exit 1, no traceback."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def load_settings() -> Settings:
    """Settings from the environment, or one line naming the variable at fault."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BATON_" + "_".join(str(p) for p in first["loc"]).upper()
        # A validator's own words, without pydantic's "Value error, " in front.
        reason = first.get("ctx", {}).get("error") or first["msg"]
        fail(f"{name}: {reason}")


def announce_mapping(settings: Settings, console: Console) -> None:
    """Which mapping file the command uses and why that one, in one line (on stdout only
    where it heads a run's report; elsewhere on stderr, so listings stay parseable)."""
    console.print(escape(settings.mapping_line()), highlight=False, soft_wrap=True)


def open_database(settings: Settings, *, must_exist: bool = False) -> Database:
    """Baton's database, or one line naming BATON_DATABASE_URL."""
    from state.database import sqlite_file

    file = sqlite_file(settings.database_url)
    if must_exist and file is not None and not file.exists():
        fail(f"BATON_DATABASE_URL: no database at {file} yet (run `baton sync` first)")
    settings.prepare_data_dir()
    try:
        return Database(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        fail(f"BATON_DATABASE_URL: cannot open the database: {one_line(exc)}")


def one_line(exc: BaseException) -> str:
    """An exception as one line (SQLAlchemy appends SQL and a docs link)."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    return f"{type(orig or exc).__name__}: {text.splitlines()[0] if text else ''}"


# A wrong URL should fail fast; the run itself retries with patience.
PREFLIGHT_RETRY = RetryPolicy(max_attempts=2, base_wait_s=0.2, max_wait_s=1.0)


@contextmanager
def one_line_errors(settings: Settings, doing: str = "") -> Iterator[None]:
    """Failures Baton can explain end in one line naming the setting at fault."""
    from state.repository import LeaseHeld

    prefix = f"{doing}: " if doing else ""
    try:
        yield
    except SettingsProblem as exc:
        fail(str(exc))
    except MappingConfigError as exc:
        fail(f"BATON_MAPPING_FILE: {exc}")
    except LeaseHeld as exc:
        fail(f"another run is in progress: {exc}")
    except TimedOut as exc:
        fail(timeout_line(settings, exc, prefix))
    except Unreachable as exc:
        fail(
            f"{settings.setting_for(exc.system)}: {prefix}cannot reach {exc.system} ({exc.message})"
        )
    except AuthenticationFailed as exc:
        fail(
            f"{settings.credential_for(exc.system)}: {prefix}{exc.system} refused the "
            f"credential ({exc.message})"
        )
    except RequestRejected as exc:
        setting = settings.setting_for(exc.system)
        if exc.category == LIST_NOT_FOUND:
            setting = "BATON_MAILCHIMP_LIST_ID"
        fail(f"{setting}: {prefix}{exc}")
    except ConnectorError as exc:
        fail(f"{settings.setting_for(exc.system)}: {prefix}{exc}")
    except SQLAlchemyError as exc:
        fail(f"BATON_DATABASE_URL: {prefix}{one_line(exc)}")


def timeout_line(settings: Settings, exc: TimedOut, prefix: str) -> str:
    """Which wait ran out, for which system, and the setting that sets it."""
    if exc.category == TimedOut.CONNECT:
        setting = "BATON_HTTP_CONNECT_TIMEOUT_SECONDS"
        seconds = settings.http_connect_timeout_seconds
        what = "did not accept a connection"
    else:
        setting = "BATON_HTTP_READ_TIMEOUT_SECONDS"
        seconds = settings.http_read_timeout_seconds
        what = "accepted the connection but did not answer"
    return (
        f"{setting}: {prefix}{exc.system} ({exc.message}) {what} within {seconds:g} s, "
        f"on every attempt; check {settings.setting_for(exc.system)} or raise {setting}"
    )


def refuse_if_running(settings: Settings) -> None:
    """A second sync is refused before anything slow starts (the run takes the lease
    again, atomically, when it starts)."""
    from datetime import timedelta

    from flows.context import refuse_if_running as check

    db = open_database(settings)
    try:
        with one_line_errors(settings):
            check(db, timedelta(seconds=settings.lease_timeout_seconds))
    finally:
        db.dispose()


def preflight(settings: Settings) -> None:
    """Check settings, the mapping, both systems and their fields before anything runs."""
    from flows.run import build_connectors, verify_systems
    from mapping.config import load_mapping

    with one_line_errors(settings):
        config = load_mapping(settings.mapping_file, phone_region=settings.phone_default_region)
        connectors = build_connectors(settings, config, retry=PREFLIGHT_RETRY)

    async def check() -> None:
        try:
            await verify_systems(config, connectors, settings.mapping_file)
        finally:
            for connector in connectors.values():
                await connector.aclose()

    with one_line_errors(settings), checking(settings):
        run_until_signal(check())


@contextmanager
def checking(settings: Settings) -> Iterator[None]:
    """A spinner while the systems are asked, on a terminal only."""
    if not err.is_terminal:
        yield
        return
    with err.status("checking settings, the mapping and both systems…"):
        yield


def run_flow(settings: Settings, *, dry_run: bool = False) -> dict[str, Any]:
    """Run one sync (see `cli.engine` for which engine); failures it can explain end
    in one line."""
    from cli.engine import run_sync_command
    from cli.progress import RunProgress
    from flows.runner import SyncIncomplete

    with one_line_errors(settings, "sync stopped"):
        try:
            result = run_sync_command(settings, RunProgress(err), dry_run=dry_run)
        except SyncIncomplete as exc:
            print_report("Baton sync (incomplete)", exc.summary)
            fail(
                "; ".join(
                    f"{settings.setting_for(system)}: {system} was set aside: {error}"
                    for system, error in exc.errors.items()
                )
            )
    if "skipped" in result:
        fail(f"another run is in progress: {result['skipped']}")
    return result


def print_report(title: str, summary: dict[str, Any], *, legend: bool = True) -> None:
    out.print(views.run_report(title, summary, legend=legend))


SETTINGS_HELP = (
    "Settings come from the environment: BATON_HUBSPOT_TOKEN, BATON_MAILCHIMP_API_KEY and "
    "BATON_MAILCHIMP_LIST_ID (required); BATON_HUBSPOT_BASE_URL, BATON_MAILCHIMP_BASE_URL, "
    "BATON_DATABASE_URL, BATON_MAPPING_FILE, BATON_SYNC_OVERLAP_SECONDS, "
    "BATON_LEASE_TIMEOUT_SECONDS (see the README)."
)


@app.command(epilog=SETTINGS_HELP)
def sync(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Plan every write and send none; only the run record is kept."
        ),
    ] = False,
) -> None:
    """Run one sync now (pull both systems, merge, push the differences)."""
    settings = load_settings()
    refuse_if_running(settings)
    preflight(settings)
    announce_mapping(settings, out)
    summary = run_flow(settings, dry_run=dry_run)
    if dry_run:
        from cli import plan_views  # its imports cost about 0.3 s: only for dry runs

        out.print(plan_views.dry_run_report(summary))
        return
    print_report("Baton sync", summary)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8765,
    seed: Annotated[int, typer.Option(help="Seed for the generated contacts.")] = 7,
    overlap: Annotated[int, typer.Option(help="People in both systems.")] = 40,
    hubspot_only: Annotated[int, typer.Option(help="People only in the CRM.")] = 30,
    mailchimp_only: Annotated[int, typer.Option(help="People only in the email platform.")] = 30,
    invalid_emails: Annotated[int, typer.Option(help="CRM emails the email platform refuses.")] = 2,
    missing_emails: Annotated[int, typer.Option(help="CRM contacts without an email.")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    preset: Annotated[
        str, typer.Option(help="Portal to play: baton (fields exist), fresh, customised.")
    ] = "baton",
    search_lag: Annotated[
        float, typer.Option(help="Seconds before a HubSpot write shows in search.", min=0)
    ] = 0.0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of vendor requests that fail (0 to 1).", min=0, max=1)
    ] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed for which requests fail.")] = 0,
    fault_kinds: Annotated[
        str,
        typer.Option(help="all, or some of throttle,bare-403,html-5xx,stall,truncated,reset."),
    ] = "all",
    stall_seconds: Annotated[
        float, typer.Option(help="How late a stalled answer comes.", min=0)
    ] = 45.0,
    hubspot_burst: Annotated[
        int, typer.Option(help="HubSpot requests allowed per 10 s (0 = unlimited).", min=0)
    ] = 100,
) -> None:
    """Serve the local HubSpot-style and Mailchimp-style APIs until interrupted."""
    from sandbox.config import Preset
    from sandbox.faults import ALL_KINDS, FaultKind
    from sandbox.server import SandboxConfig, serve

    if preset not in {p.value for p in Preset}:
        fail(f"--preset: {preset!r} is not one of {', '.join(p.value for p in Preset)}")
    names = [k.strip() for k in fault_kinds.split(",") if k.strip()]
    known = [k.value for k in ALL_KINDS]
    if names != ["all"] and (not names or not set(names) <= set(known)):
        fail(f"--fault-kinds: {fault_kinds!r} is not 'all' or a list of {', '.join(known)}")
    config = SandboxConfig(
        preset=Preset(preset),
        search_lag_seconds=search_lag,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        fault_kinds=list(ALL_KINDS) if names == ["all"] else [FaultKind(k) for k in names],
        stall_seconds=stall_seconds,
        hubspot_burst=hubspot_burst,
        seed=seed,
        overlap=overlap,
        hubspot_only=hubspot_only,
        mailchimp_only=mailchimp_only,
        invalid_emails=invalid_emails,
        missing_emails=missing_emails,
    )
    url = f"http://127.0.0.1:{port}"
    # Plain print: lines to paste must not be wrapped or styled. The sandbox's
    # credentials are its own fixed ones, not secrets.
    print(f"# HubSpot-style API on {url}, Mailchimp-style API on {url}/3.0")
    print("# point Baton at this sandbox: paste these lines into another shell")
    for line in sandbox_exports(
        url, config.hubspot_token, config.mailchimp_api_key, config.list_id
    ):
        print(line)
    print("# request counts: GET /_sandbox/stats; stop with Ctrl-C", flush=True)
    serve(config, "127.0.0.1", port, access_log=access_log)


def sandbox_exports(url: str, token: str, key: str, list_id: str) -> list[str]:
    """`export` lines that point Baton at a sandbox on `url`."""
    import shlex

    settings = {
        "BATON_HUBSPOT_BASE_URL": url,
        "BATON_HUBSPOT_TOKEN": token,
        "BATON_MAILCHIMP_BASE_URL": f"{url}/3.0",
        "BATON_MAILCHIMP_API_KEY": key,
        "BATON_MAILCHIMP_LIST_ID": list_id,
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in settings.items()]


@app.command()
def demo() -> None:
    """Start a fresh sandbox portal, set it up for the mapping, sync twice, show what happened."""
    from pathlib import Path

    from cli.mapping_cmds import apply_mapping
    from sandbox.config import Preset
    from sandbox.server import SandboxConfig, SandboxServer

    config = SandboxConfig(preset=Preset.FRESH)
    db_path = Path(".baton") / "demo.db"
    db_path.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with SandboxServer(config) as server:
        os.environ.update(
            {
                "BATON_DATABASE_URL": f"sqlite:///{db_path}",
                "BATON_HUBSPOT_BASE_URL": server.url,
                "BATON_HUBSPOT_TOKEN": config.hubspot_token,
                "BATON_MAILCHIMP_BASE_URL": f"{server.url}/3.0",
                "BATON_MAILCHIMP_API_KEY": config.mailchimp_api_key,
                "BATON_MAILCHIMP_LIST_ID": config.list_id,
            }
        )
        out.print(
            f"sandbox on {server.url}: {config.overlap} people in both systems, "
            f"{config.hubspot_only + config.invalid_emails + config.missing_emails} "
            f"only in the CRM, {config.mailchimp_only} only in the email platform"
        )
        settings = load_settings()
        announce_mapping(settings, out)
        out.print("The portal is fresh; `baton mapping apply` creates what the mapping needs:")
        apply_mapping(settings, dry_run=False)
        preflight(settings)
        print_report("First sync", run_flow(settings))
        print_report(
            "Second sync (nothing changed outside: no writes expected)",
            run_flow(settings),
            legend=False,
        )
    status()


@app.command("dead-letters")
def dead_letters(
    limit: Annotated[int, typer.Option(help="How many to show, newest first.")] = 50,
) -> None:
    """Open dead letters: what was refused or could not be read, and why."""
    from state import repository as repo

    db = open_database(load_settings(), must_exist=True)
    with db.session() as s:
        out.print(
            views.dead_letters(
                repo.open_dead_letters(s, limit=limit), repo.count_open_dead_letters(s)
            )
        )
    db.dispose()


@app.command(epilog=SETTINGS_HELP)
def replay(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead-letter ids (default: all open).")
    ] = None,
) -> None:
    """Put dead letters back in the pipeline; the next `baton sync` sends what they hold."""
    from flows.replay import replay_letters

    settings = load_settings()
    with one_line_errors(settings):
        settings.require_credentials()
    open_database(settings, must_exist=True).dispose()
    announce_mapping(settings, out)
    with one_line_errors(settings, "replay stopped"):
        results = replay_letters(settings, ids or None)
    for result in results:
        mark = (
            "[green]resolved[/]"
            if result.resolved
            else "[cyan]queued[/]"
            if result.queued
            else "[yellow]still open[/]"
        )
        out.print(f"#{result.letter_id} {mark} {escape(result.detail)}")
    if not results:
        out.print("nothing to replay")


@app.command()
def status() -> None:
    """Last runs, cursors, outbox depth and open dead letters."""
    from datetime import timedelta

    from flows.context import dead_runs
    from state import repository as repo

    settings = load_settings()
    db = open_database(settings, must_exist=True)
    with db.session() as s:
        dead = dead_runs(s, timedelta(seconds=settings.lease_timeout_seconds))
        out.print(views.recent_runs(repo.recent_runs(s), dead))
        cursors = Table(title="Cursors", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        cursors.add_column("stream")
        cursors.add_column("pulled up to (UTC)")
        for row in repo.all_cursors(s):
            cursors.add_row(row.stream, row.since.strftime("%Y-%m-%d %H:%M:%S"))
        out.print(cursors)
        out.print(views.outbox_line(repo.outbox_depth(s)))
        out.print(
            views.dead_letters(repo.open_dead_letters(s, limit=20), repo.count_open_dead_letters(s))
        )
    db.dispose()


def _register_subcommands() -> None:
    from cli.mapping_cmds import mapping_app

    app.add_typer(mapping_app, name="mapping")


_register_subcommands()


def run() -> None:
    """Console-script entry point."""
    interrupts.install()
    try:
        app()
    except Interrupted as exc:
        # A sync run it cut short is recorded as interrupted and its lease released.
        err.print(
            f"[bold red]stopped:[/] {exc}; nothing is lost, the next `baton sync` carries on",
            highlight=False,
        )
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    run()
