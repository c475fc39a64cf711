"""`baton mapping …`: check the mapping file, discover and preview the systems, and set a
portal up for the mapping."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from connectors.fields import FieldAdmin
from flows.field_setup import FieldSetupRefused, SystemPlan
from flows.settings import Settings
from mapping.config import CheckedMapping
from mapping.errors import Problem

if TYPE_CHECKING:
    from flows.discover import Discovery
    from mapping.config import MappingConfig

mapping_app = typer.Typer(
    no_args_is_help=True, help="Check the mapping file and set a portal up for it."
)


def _admins(settings: Settings, mapping_file: Path) -> tuple[object, dict[str, FieldAdmin]]:
    from cli import main
    from flows.run import build_connectors
    from mapping.config import load_mapping

    with main.one_line_errors(settings):
        config = load_mapping(mapping_file, phone_region=settings.phone_default_region)
        connectors = build_connectors(settings, config, retry=main.PREFLIGHT_RETRY)
    return config, {s: c for s, c in connectors.items() if isinstance(c, FieldAdmin)}


def apply_mapping(settings: Settings, *, dry_run: bool) -> list[SystemPlan]:
    """Run `apply` against the configured systems and print what it did (or would do)."""
    from cli import main
    from flows.field_setup import apply
    from mapping.config import MappingConfig

    config, admins = _admins(settings, settings.mapping_file)
    assert isinstance(config, MappingConfig)

    async def go() -> list[SystemPlan]:
        try:
            return await apply(config, admins, dry_run=dry_run)
        finally:
            for admin in admins.values():
                close = getattr(admin, "aclose", None)
                if close is not None:
                    await close()

    with main.one_line_errors(settings, "mapping apply stopped"):
        try:
            plans = asyncio.run(go())
        except FieldSetupRefused as exc:
            main.fail(f"mapping apply refused, nothing was changed: {exc}")
    verb = "would " if dry_run else ""
    for plan in plans:
        if not plan.actions:
            main.out.print(f"{plan.system}: nothing to create", highlight=False)
        for action in plan.actions:
            text = action.describe()
            if not dry_run:
                text = text.replace("create ", "created ", 1).replace("add ", "added ", 1)
            main.out.print(f"{plan.system}: {verb}{escape(text)}", highlight=False)
    return plans


@mapping_app.command("apply")
def apply_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be created.")
    ] = False,
) -> None:
    """Create on each system the fields and values the mapping needs and lacks."""
    from cli import main

    settings = main.load_settings()
    main.announce_mapping(settings, main.err)
    apply_mapping(settings, dry_run=dry_run)


@mapping_app.command("validate")
def validate_cmd(
    file: Annotated[
        Path | None, typer.Argument(help="Mapping file (default: the setting).")
    ] = None,
    remote: Annotated[
        bool, typer.Option("--remote", help="Also check the fields against both systems.")
    ] = False,
) -> None:
    """Check a mapping file; with --remote, also against both systems' fields.

    Every problem is listed, one per line as `file:line:col: message`.
    """
    from cli import main
    from mapping.config import check_mapping, read_mapping_text

    settings = main.load_settings()
    if file is not None:
        settings = settings.model_copy(update={"mapping_file": file})
    else:
        main.announce_mapping(settings, main.err)
    path = settings.mapping_file
    with main.one_line_errors(settings):
        text = read_mapping_text(path)
    checked = check_mapping(text, str(path), phone_region=settings.phone_default_region)
    problems = list(checked.problems)
    if remote and checked.config is not None:
        problems += _remote_problems(settings, checked)
    for problem in problems:
        main.out.print(escape(str(problem)), highlight=False, soft_wrap=True)
    if problems:
        count = len(problems)
        main.fail(f"{path}: {count} problem{'s' if count > 1 else ''}")
    if remote:
        main.preflight(settings)
    where = " and both systems have its fields" if remote else ""
    main.out.print(f"{path}: valid{where}", highlight=False)


def _remote_problems(settings: Settings, checked: CheckedMapping) -> list[Problem]:
    from cli import main
    from flows.mapping_check import remote_problems
    from flows.run import build_connectors

    assert checked.config is not None
    with main.one_line_errors(settings):
        connectors = build_connectors(settings, checked.config, retry=main.PREFLIGHT_RETRY)

    async def go() -> list[Problem]:
        try:
            return await remote_problems(checked, connectors)
        finally:
            for connector in connectors.values():
                await connector.aclose()

    with main.one_line_errors(settings, "mapping validate stopped"):
        return asyncio.run(go())


def preview_mapping(settings: Settings, limit: int) -> None:
    """Run `preview` against the configured systems and print it."""
    from cli import main, plan_views
    from flows.preview import Preview, preview
    from flows.run import build_connectors
    from mapping.config import load_mapping

    with main.one_line_errors(settings):
        config = load_mapping(settings.mapping_file, phone_region=settings.phone_default_region)
        connectors = build_connectors(settings, config, retry=main.PREFLIGHT_RETRY)

    async def go() -> Preview:
        try:
            return await preview(
                config,
                connectors,
                settings.database_url,
                limit,
                timedelta(seconds=settings.lease_timeout_seconds),
            )
        finally:
            for connector in connectors.values():
                await connector.aclose()

    with main.one_line_errors(settings, "mapping preview stopped"):
        result = asyncio.run(go())
    main.out.print(plan_views.preview_report(result))


@mapping_app.command("preview")
def preview_cmd(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=200, help="Records to fetch from each system.")
    ] = 5,
) -> None:
    """Show how N real records of each system read, and the writes a sync would make."""
    from cli import main

    settings = main.load_settings()
    main.announce_mapping(settings, main.err)
    main.preflight(settings)
    preview_mapping(settings, limit)


def _current_mapping(settings: Settings) -> MappingConfig | None:
    """The mapping file, or None (said in one line) when it does not load."""
    from cli import main
    from mapping.config import load_mapping
    from mapping.errors import MappingConfigError

    try:
        return load_mapping(settings.mapping_file, phone_region=settings.phone_default_region)
    except MappingConfigError as exc:
        main.err.print(f"note: {escape(str(exc))}; every field shows as unmapped", highlight=False)
        return None


def discover_fields(settings: Settings, output: Path | None, *, force: bool = False) -> Discovery:
    """Run `discover`, print each system's fields and (with `output`) write the starter."""
    from cli import discover_views, main
    from flows.discover import discover
    from flows.run import build_connectors
    from mapping.config import parse_mapping
    from mapping.starter import render

    if output is not None and output.exists() and not force:
        main.fail(f"--output: {output} exists; pick another name or add --force")
    main.announce_mapping(settings, main.err)
    config = _current_mapping(settings)
    # The connectors need a mapping only for what they pull; the identity is enough here.
    bare = parse_mapping(
        "fields: {email: {hubspot: email, mailchimp: email_address}}", "<identity>"
    )
    with main.one_line_errors(settings):
        connectors = build_connectors(settings, config or bare, retry=main.PREFLIGHT_RETRY)
    admins = {s: c for s, c in connectors.items() if isinstance(c, FieldAdmin)}

    async def go() -> Discovery:
        try:
            return await discover(config, admins)
        finally:
            for connector in connectors.values():
                await connector.aclose()

    with main.one_line_errors(settings, "mapping discover stopped"):
        found = asyncio.run(go())
    for system, fields in found.fields.items():
        main.out.print(discover_views.system_fields(system, fields))
        lacking = found.missing.get(system)
        if lacking:
            main.out.print(discover_views.missing_line(system, lacking), highlight=False)
    if output is not None:
        source = ", ".join(found.fields)
        output.write_text(render(found.starter, source), encoding="utf-8")
        paired = sum(1 for block in found.starter.blocks.values() if len(_bound(block)) > 1)
        main.out.print(
            f"wrote {output}: {len(found.starter.blocks)} fields, {paired} bound in both "
            "systems; check it with `baton mapping validate "
            f"{output} --remote`",
            highlight=False,
        )
    return found


def _bound(block: dict[str, object]) -> list[str]:
    from mapping.config import SYSTEMS

    return [key for key in block if key in SYSTEMS]


@mapping_app.command("discover")
def discover_cmd(
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Write a starter mapping for these systems to FILE."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """List each system's fields (types, options, read-only) and what the mapping binds."""
    from cli import main

    discover_fields(main.load_settings(), output, force=force)
