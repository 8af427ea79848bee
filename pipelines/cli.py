"""The ``credit-engine`` command: each pipeline step is a subcommand composing the core."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from credit_engine.ingest import FileReport, ingest_paths, source_files
from credit_engine.ingest import requeue as requeue_quarantine
from credit_engine.settings import get_settings
from credit_engine.store.db import current_revision, make_engine, upgrade

app = typer.Typer(help="Credit-based tiered supervision scoring (信用分级分类监管).", no_args_is_help=True)
console = Console()


@app.command()
def init() -> None:
    """Create the database or upgrade it to the current schema."""
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    state = "created" if before is None else ("up to date" if before == after else f"upgraded from {before}")
    console.print(f"database {engine.url.render_as_string(hide_password=True)}: {state} (schema {after})")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="folder to write sources/ and truth/ into")],
    entities: Annotated[int, typer.Option(min=10, help="number of market entities")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same bytes")] = 7,
    as_of: Annotated[str, typer.Option(help="last date of the synthetic history (YYYY-MM-DD)")] = "2026-06-30",
) -> None:
    """Write a deterministic synthetic province in the real source formats."""
    from credit_engine.synth import synthesise

    with console.status(f"synthesising {entities} entities"):
        report = synthesise(out, entities=entities, seed=seed, as_of=date.fromisoformat(as_of))
    table = Table("file", "rows", title=f"synthetic province: {report.entities} entities, {report.persons} persons")
    for name, rows in sorted(report.files.items()):
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print("defects injected: " + ", ".join(f"{k} {v}" for k, v in sorted(report.defects.items())))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders of source files")],
    backfill: Annotated[bool, typer.Option(help="history exported from another system: record new facts at "
                                                "their assumed publication time, not now")] = False,
) -> None:
    """Ingest source files: recognise each by its header, clean, resolve, write facts; bad rows to quarantine."""
    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    try:
        files = source_files(paths)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))

        def advance(report: FileReport) -> None:
            progress.update(task, advance=1, description=f"ingested {report.path.name}")

        reports = ingest_paths(files, engine, settings, on_file=advance, actor=f"cli:{getpass.getuser()}",
                               backfill=backfill)
    for table in report_tables(reports):
        console.print(table)
    rejected = [r for r in reports if r.status in ("rejected", "failed")]
    for report in rejected:
        console.print(f"[red]{report.status} {report.path}: {report.error}[/red]")
    if rejected:
        raise typer.Exit(1)


@app.command()
def requeue() -> None:
    """Retry quarantined rows that failed only for want of registration data (old codes, masked codes)."""
    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    reports = requeue_quarantine(engine, settings, actor=f"cli:{getpass.getuser()}")
    table = Table("file", "kind", "retried", "landed", "new facts", title="requeue")
    for r in reports:
        table.add_row(r.path.name, r.kind, f"{r.rows_read:,}", f"{r.rows_accepted:,}", f"{r.facts_new:,}")
    console.print(table if reports else "nothing to requeue")


@app.command()
def link() -> None:
    """Link court-list debtors whose IDs arrived masked to persons (exact single matches only)."""
    from credit_engine import linking

    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    with console.status("linking masked court-list IDs"), engine.begin() as conn:
        counts = linking.resolve_masked_debtors(conn)
    console.print(f"linked {counts['linked']:,}; ambiguous (flagged, not linked) {counts['ambiguous']:,}")


@app.command()
def build(as_of: Annotated[str | None, typer.Option(help="date to build for (YYYY-MM-DD); default today")] = None) -> None:
    """Propagate dishonesty along the enterprise–person graph as of a date and store the flags.

    As of a date means as known then: facts recorded later (e.g. backfilled today) do not count.
    """
    from credit_engine import linking
    from credit_engine.records import today_in_beijing

    as_of = as_of or today_in_beijing().isoformat()

    settings = get_settings()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    with console.status(f"building flags as of {as_of}"), engine.begin() as conn:
        counts = linking.build(conn, date.fromisoformat(as_of))
    table = Table("flag", "count", title=f"flags as of {as_of}")
    for flag, n in sorted(counts.items()):
        table.add_row(flag, f"{n:,}")
    console.print(table if counts else f"no flags as of {as_of}")


def report_tables(reports: list[FileReport]) -> list[Table]:
    """Per-file counts, then quarantined rows by reason (so nothing is dropped unseen)."""
    seconds = sum(r.seconds for r in reports)
    files = Table(title=f"ingest report: {len(reports)} files in {seconds:.1f} s")
    files.add_column("file", overflow="fold", min_width=22)
    files.add_column("kind", no_wrap=True)
    for column in ("read", "quarantined", "new", "versioned", "unchanged"):
        files.add_column(column, justify="right", overflow="fold")
    for r in reports:
        kind = r.kind if r.status == "ingested" else f"[yellow]{r.status}[/yellow]"
        files.add_row(r.path.name, kind, f"{r.rows_read:,}", f"{r.rows_quarantined:,}", f"{r.facts_new:,}",
                      f"{r.facts_versioned:,}", f"{r.facts_unchanged:,}")
    total = lambda attr: f"{sum(getattr(r, attr) for r in reports):,}"  # noqa: E731
    files.add_section()
    files.add_row("total", "", total("rows_read"), total("rows_quarantined"), total("facts_new"),
                  total("facts_versioned"), total("facts_unchanged"))
    reasons = Table("file", "reason", "rows", title="quarantined rows by reason")
    for r in reports:
        for code, n in r.quarantined.most_common():
            reasons.add_row(r.path.name, code, f"{n:,}")
    return [files, reasons] if reasons.row_count else [files]


@app.command()
def demo(
    entities: Annotated[int, typer.Option(min=10)] = 3000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """The whole flow on a synthetic province in the working folder."""
    settings = get_settings()
    folder = settings.var_dir / "demo-province"
    synth(out=folder, entities=entities, seed=seed, as_of="2026-06-30")
    init()
    ingest([folder / "sources"])
    link()
    build()


if __name__ == "__main__":
    app()
