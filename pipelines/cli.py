"""The ``credit-engine`` command: each pipeline step is a subcommand composing the core."""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from credit_engine.backfill import history_warning, unknown_on
from credit_engine.ingest import FileReport, ingest_paths, source_files
from credit_engine.ingest import requeue as requeue_quarantine
from credit_engine.settings import get_settings
from credit_engine.store.db import SchemaNotCurrent, current_revision, make_engine, require_current, upgrade
from credit_engine.store.repository import now_utc
from pipelines.sample import run_plan, sample_app

app = typer.Typer(help="Credit-based tiered supervision scoring (信用分级分类监管).", no_args_is_help=True)
#: soft_wrap: a long line (a command, a key, a URL) stays one line that can be copied, terminal or not.
console = Console(soft_wrap=True)


@app.command()
def init(
    service_role: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL: create this role if missing and grant it what the service needs (read and insert only "
            "on the audit log and grades); run init as the tables' owner, serve as this role"
        ),
    ] = None,
) -> None:
    """Create the database or upgrade it to the current schema."""
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    state = "created" if before is None else ("up to date" if before == after else f"upgraded from {before}")
    console.print(f"database {engine.url.render_as_string(hide_password=True)}: {state} (schema {after})")
    if service_role:
        from sqlalchemy.exc import DBAPIError

        from credit_engine.store.roles import grant_service_role

        try:
            done = grant_service_role(engine, service_role)
        except DBAPIError as exc:
            console.print(
                f"[red]the role {service_role} could not be created or granted: "
                f"{str(exc.orig).strip()}[/red] (init needs CREATEROLE, or a DBA creates the role first)"
            )
            raise typer.Exit(2) from exc
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        created = "created (NOLOGIN: give it LOGIN and a password), " if done[0].startswith("CREATE ROLE") else ""
        console.print(f"service role {service_role}: {created}{len(done)} grants")


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
    backfill: Annotated[
        bool,
        typer.Option(
            help="history exported from another system: record new facts at their assumed publication time, not now"
        ),
    ] = False,
) -> None:
    """Ingest source files: recognise each by its header, clean, resolve, write facts; bad rows to quarantine."""
    settings = get_settings()
    engine = _current_store()
    try:
        files = source_files(paths)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"ingesting {len(files):,} files", total=sum(path.stat().st_size for path in files))

        def done(report: FileReport) -> None:
            progress.update(task, description=f"ingested {report.path.name}")

        started = now_utc()
        reports = ingest_paths(
            files,
            engine,
            settings,
            on_file=done,
            actor=f"cli:{getpass.getuser()}",
            backfill=backfill,
            on_bytes=lambda n: progress.update(task, advance=n),
        )
    for table in report_tables(reports):
        console.print(table)
    if not backfill:
        with engine.connect() as conn:
            warning = history_warning(conn, started)
        if warning:
            console.print(f"[yellow]warning: {warning}[/yellow]")
    rejected = [r for r in reports if r.status in ("rejected", "failed")]
    for report in rejected:
        console.print(f"[red]{report.status} {report.path}: {report.error}[/red]")
    if rejected:
        raise typer.Exit(1)


@app.command()
def requeue() -> None:
    """Retry quarantined rows that failed only for want of registration data (old codes, masked codes)."""
    settings = get_settings()
    engine = _current_store()
    reports = requeue_quarantine(engine, settings, actor=f"cli:{getpass.getuser()}")
    table = Table("file", "kind", "retried", "landed", "new facts", title="requeue")
    for r in reports:
        table.add_row(r.path.name, r.kind, f"{r.rows_read:,}", f"{r.rows_accepted:,}", f"{r.facts_new:,}")
    console.print(table if reports else "nothing to requeue")


@app.command()
def quarantine(
    file: Annotated[str | None, typer.Option("--file", help="only rows of this file (its name)")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="only rows with this reason code")] = None,
    export: Annotated[Path | None, typer.Option("--export", help="write every matching row to this CSV file")] = None,
    limit: Annotated[int, typer.Option(help="rows shown (without --export)")] = 50,
) -> None:
    """List quarantined rows: file, row number, reason and the raw row (identity numbers masked)."""
    import json

    from credit_engine.quarantine import quarantined

    engine = _current_store()
    with engine.connect() as conn:
        total, rows = quarantined(conn, file, reason, None if export else limit)
    if export:
        export.parent.mkdir(parents=True, exist_ok=True)
        rows.assign(raw=rows["raw"].map(lambda raw: json.dumps(raw, ensure_ascii=False))).to_csv(
            export, index=False, encoding="utf-8"
        )
        console.print(f"wrote {total:,} quarantined rows to {export}")
        return
    table = Table(title=f"quarantined rows: {total:,}" + (f" (first {len(rows):,})" if len(rows) < total else ""))
    for column in ("file", "row", "reason"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail")
    table.add_column("raw")
    for r in rows.itertuples(index=False):
        raw = r.raw if isinstance(r.raw, str) else " | ".join(f"{k}={v}" for k, v in r.raw.items() if v)
        table.add_row(
            r.file, str(r.row_number), r.reason_code + (" (resolved)" if r.resolved_at else ""), r.reason, raw
        )
    console.print(table)


@app.command()
def link() -> None:
    """Link court-list debtors whose IDs arrived masked to persons (exact single matches only)."""
    from credit_engine import linking

    get_settings()
    engine = _current_store()
    with console.status("linking masked court-list IDs"), engine.begin() as conn:
        counts = linking.resolve_masked_debtors(conn)
    console.print(f"linked {counts['linked']:,}; ambiguous (flagged, not linked) {counts['ambiguous']:,}")


@app.command()
def build(
    as_of: Annotated[str | None, typer.Option(help="date to build for (YYYY-MM-DD); default today")] = None,
) -> None:
    """Propagate dishonesty along the enterprise–person graph as of a date and store the flags.

    As of a date means as known then: facts recorded later (e.g. backfilled today) do not count.
    """
    from credit_engine import linking
    from credit_engine.records import today_in_beijing

    as_of = as_of or today_in_beijing().isoformat()

    get_settings()
    engine = _current_store()
    _say_if_unknown(engine, date.fromisoformat(as_of))
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
        engine.begin() as conn,
    ):
        task = progress.add_task(f"building flags as of {as_of}: USCC spans", total=None)
        counts = linking.build(
            conn,
            date.fromisoformat(as_of),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    table = Table("flag", "count", title=f"flags as of {as_of}")
    for flag, n in sorted(counts.items()):
        table.add_row(flag, f"{n:,}")
    console.print(table if counts else f"no flags as of {as_of}")


def _say_if_unknown(engine, day: date, fatal: bool = False) -> None:
    """Say plainly when the store knows (almost) nothing on ``day`` (history loaded without --backfill)."""
    with engine.connect() as conn:
        problem = unknown_on(conn, day)
    if problem and fatal:
        console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2)
    if problem:
        console.print(f"[yellow]warning: {problem}[/yellow]")


def _day(value: str | None) -> date:
    from credit_engine.records import today_in_beijing

    try:
        return date.fromisoformat(value) if value else today_in_beijing()
    except ValueError as exc:
        console.print(f"[red]not a date (YYYY-MM-DD): {value}[/red]")
        raise typer.Exit(2) from exc


def _numbers(value: str | None, count: int, what: str) -> tuple[float, ...] | None:
    if not value:
        return None
    try:
        numbers = tuple(float(x) for x in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != count:
        console.print(f"[red]--{what} takes {count} comma-separated numbers, got '{value}'[/red]")
        raise typer.Exit(2)
    return numbers


@app.command()
def train(
    as_of: Annotated[
        str | None, typer.Option(help="inspection results are known until this date; default today")
    ] = None,
    months: Annotated[
        int,
        typer.Option(
            min=24,
            help="month-end as-of dates in the training spine (at least 24: "
            "12 validation dates, and a label year before them)",
        ),
    ] = 36,
    shares: Annotated[str | None, typer.Option(help="target class shares A,B,C,D, e.g. 0.3,0.45,0.17,0.08")] = None,
    thresholds: Annotated[str | None, typer.Option(help="probability cut-offs A|B, B|C, C|D instead of shares")] = None,
    promote_: Annotated[bool, typer.Option("--promote", help="promote the new version if the gate passes")] = False,
    table: Annotated[
        Path | None, typer.Option(help="an analyst's labelled CSV or Parquet table instead of the store")
    ] = None,
    label: Annotated[str | None, typer.Option(help="label column of --table: two values of any type")] = None,
    positive: Annotated[
        str | None,
        typer.Option(
            help="the label value of the bad outcome (guessed when unambiguous: bad, 1, yes, 是, default, 违约)"
        ),
    ] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="identifier column of --table, not a feature")] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(help="keep this column as a feature although it looks like an identifier (repeatable)"),
    ] = None,
) -> None:
    """Train LightGBM and a scorecard, validate, log to MLflow and register a `credit-risk` challenger."""
    from credit_engine.scoring import lifecycle

    settings = get_settings()
    if table is not None:
        if not label:
            console.print("[red]--table needs --label COLUMN[/red]")
            raise typer.Exit(2)
        try:
            with console.status(f"training on {table.name} (stratified k-fold, complexity by inner folds)"):
                report, found = lifecycle.train_on_table(
                    settings, table, label, id_column, positive=positive, keep=tuple(keep or ())
                )
        except (ValueError, FileNotFoundError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        how = "guessed; say otherwise with --positive" if found.label.guessed else "--positive"
        console.print(
            f"label {found.label.column}: {found.label.positive} = 1 (bad), {found.label.negative} = 0 ({how})"
        )
        for column, why in found.left_out.items():
            if why != "--id":
                console.print(f"[yellow]left out {column}: {why} (keep it with --keep {column})[/yellow]")
        console.print("outer folds' AUC: " + ", ".join(f"{a:.4f}" for a in found.outer_auc))
        _print_training(report, "credit-risk-analyst")
        return
    engine = _current_store()
    labels_until = _day(as_of)
    _say_if_unknown(engine, labels_until, fatal=True)
    chosen: dict[str, Any] = {
        "shares": _numbers(shares, 4, "shares"),
        "thresholds": _numbers(thresholds, 3, "thresholds"),
    }
    try:
        with console.status(f"training on the spine of {months} months to {labels_until}"), engine.connect() as conn:
            report = lifecycle.train_on_store(conn, settings, labels_until, months, **chosen)
    except ValueError as exc:  # too little history, one outcome only, bad cut-offs
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_training(report, "credit-risk")
    if promote_:
        _promote(report.version, None)


def _print_training(report, name: str) -> None:
    shown = {k: v for k, v in report.metrics.items() if not k.startswith("n_")}
    table = Table("metric", "value", title=f"{name} version {report.version} (alias challenger)")
    for key, value in shown.items():
        table.add_row(key, f"{value:.4f}")
    table.add_row("cut-offs (A|B, B|C, C|D)", ", ".join(f"{t:.4f}" for t in report.cutoffs.thresholds))
    console.print(table)


def _promote(version: str, justification: str | None) -> None:
    from credit_engine.scoring import lifecycle, registry

    settings = get_settings()
    engine = _current_store()
    try:
        with engine.begin() as conn:
            outcome = lifecycle.promote_audited(conn, settings, version, justification, f"cli:{getpass.getuser()}")
    except registry.PromotionRefused as exc:
        console.print(f"[red]{exc}[/red]\nforce it with --force-reason 'why' (audited)")
        raise typer.Exit(1) from exc
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]: see `credit-engine models`")
        raise typer.Exit(1) from exc
    note = " [yellow](forced past the gate)[/yellow]" if outcome["forced"] else ""
    console.print(f"credit-risk version {version} is now the champion (was {outcome['previous'] or 'none'}){note}")


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="registered version of credit-risk")],
    force_reason: Annotated[
        str | None, typer.Option(help="promote past a failed gate, with this justification")
    ] = None,
    regrade: Annotated[
        bool,
        typer.Option(
            "--regrade",
            help="grade every entity with the new champion at once "
            "(otherwise stored grades keep the old model until "
            "the next `grade`)",
        ),
    ] = False,
    as_of: Annotated[str | None, typer.Option(help="with --regrade: the date to grade as of; default today")] = None,
) -> None:
    """Make a version the champion if the gate passes (AUC drop, class PSI), or forced with a reason. Stored grades
    stay on the old model until the next `grade`, unless --regrade."""
    _promote(version, force_reason)
    if regrade:
        grade(as_of=as_of)


@app.command()
def models() -> None:
    """Registered versions of both models, the store's credit-risk and the analysts' credit-risk-analyst, with their
    aliases and key metrics."""
    from credit_engine.scoring import registry

    settings = get_settings()
    shown = {
        registry.MODEL_NAME: (
            ("valid AUC", "valid_auc"),
            ("valid KS", "valid_ks"),
            ("Brier", "valid_brier"),
            ("class PSI", "class_psi_vs_champion"),
        ),
        registry.ANALYST_MODEL_NAME: (
            ("outer-fold AUC", "cv_auc_mean"),
            ("± std", "cv_auc_std"),
            ("fit-rows AUC", "cv_train_auc_mean"),
            ("scorecard AUC", "scorecard_valid_auc"),
        ),
    }
    for name, columns in shown.items():
        table = Table("version", "aliases", *(title for title, _ in columns), title=name)
        for v in registry.versions(settings, name):
            m = v["metrics"]
            table.add_row(
                v["version"], ", ".join(v["aliases"]), *(f"{m[k]:.4f}" if k in m else "-" for _, k in columns)
            )
        console.print(table if table.row_count else f"{name}: no version registered")


@app.command()
def grade(
    as_of: Annotated[str | None, typer.Option(help="date to grade as of (YYYY-MM-DD); default today")] = None,
    engine_name: Annotated[str, typer.Option("--engine", help="pandas (this process) or spark")] = "pandas",
    partition_size: Annotated[int, typer.Option(help="entities per partition (a USCC span)", min=1)] = 250_000,
    spark_master: Annotated[
        str, typer.Option(help="Spark master with --engine spark, e.g. spark://host:7077")
    ] = "local[2]",
    exchange: Annotated[
        Path | None,
        typer.Option(
            help="Parquet exchange folder with --engine spark (shared storage on a cluster); default a temporary folder"
        ),
    ] = None,
) -> None:
    """Grade every entity with the champion model: class, score, reasons; appended to the grade history."""
    from credit_engine.grading import batch
    from credit_engine.scoring import registry

    if engine_name not in ("pandas", "spark"):
        console.print(f"[red]unknown engine {engine_name!r}: pandas or spark[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    engine = _current_store()
    try:
        if engine_name == "spark":
            from credit_engine.grading import spark

            spark.require()
        champion = registry.load_champion(settings)
    except (LookupError, RuntimeError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    day = _day(as_of)
    _say_if_unknown(engine, day)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"grading as of {day} with credit-risk version {champion.version}", total=None)

        def advance(step: str, done: int, total: int | None) -> None:
            what = f"read {done:,} rows" if total is None else step
            progress.update(
                task,
                completed=done if total else 0,
                total=total,
                description=f"{what}: as of {day}, credit-risk version {champion.version}",
            )

        report = batch.grade_all(
            engine,
            settings,
            day,
            champion,
            actor=f"cli:{getpass.getuser()}",
            compute=cast(Literal["pandas", "spark"], engine_name),  # checked above
            partition_size=partition_size,
            progress=advance,
            spark_master=spark_master,
            exchange=exchange,
        )
    total = sum(report.counts.values())
    table = Table(
        "class",
        "entities",
        "share",
        title=f"grades as of {day}: model {report.model_version}, rules {report.rule_set_id}",
    )
    for g, n in report.counts.items():
        table.add_row(g, f"{n:,}", f"{n / total:.1%}")
    console.print(table)
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))


@app.command("publicity-sweep")
def publicity_sweep(
    as_of: Annotated[
        str | None, typer.Option(help="end publicity due by this date (YYYY-MM-DD); default today")
    ] = None,
) -> None:
    """Stop publishing every fact whose maximum publicity period has passed (idempotent, audited)."""
    from credit_engine.workflows import sweep

    engine = _current_store()
    day = _day(as_of)
    with console.status(f"ending publicity due by {day}"):
        report = sweep.sweep(engine, day, actor=f"cli:{getpass.getuser()}")
    ended = ", ".join(f"{kind} {n:,}" for kind, n in report.ended.items())
    console.print(
        f"{report.examined:,} published facts examined under {report.rule_set_id}; "
        f"publicity ended: {ended} ({report.seconds:.1f} s)"
    )


@app.command()
def overdue() -> None:
    """Repair applications and objections past their decision deadline."""
    from credit_engine.records import today_in_beijing
    from credit_engine.workflows import list_cases

    today = today_in_beijing()
    with _current_store().connect() as conn:
        total, found = list_cases(conn, overdue_on=today, limit=1000)
    table = Table("ticket", "kind", "uscc", "filed", "deadline", title=f"{total} case(s) overdue on {today}")
    for case in found:
        table.add_row(case.ticket, case.kind, case.uscc, str(case.filed_on), str(case.deadline))
    console.print(table)


@app.command()
def transfers(
    as_of: Annotated[str | None, typer.Option(help="the day of the worklist (YYYY-MM-DD); default today")] = None,
    show: Annotated[int, typer.Option(help="rows to print, oldest listing first")] = 50,
) -> None:
    """Abnormal-list entries to warn now or to move to the serious list (RULES.md §5)."""
    from credit_engine.workflows.transfers import transfers_due

    day = _day(as_of)
    with _current_store().connect() as conn:
        found = transfers_due(conn, day)
    due = sum(t.stage == "due" for t in found)
    table = Table(title=f"abnormal list on {day}: {due:,} transfer(s) due, {len(found) - due:,} to warn")
    for column in ("uscc", "name", "listed", "reason", "warn from", "due", "stage"):
        table.add_column(column, no_wrap=column != "name")
    for t in found[:show]:
        table.add_row(t.uscc, t.name or "", str(t.listed_on), t.reason, str(t.warn_from), str(t.due_on), t.stage)
    console.print(table)


export_app = typer.Typer(help="Export results.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("grades")
def export_grades(
    out: Annotated[Path, typer.Option(help="CSV file to write")],
    as_of: Annotated[
        str | None, typer.Option(help="the grades held on this date; default the latest graded date")
    ] = None,
) -> None:
    """Write every entity's grade held on a date: uscc, grade, score (higher = riskier), as_of, model_version, reasons.
    Classes are internal, so the export is audited like a regulator's read."""
    from credit_engine.grading import batch
    from credit_engine.store.repository import Store, now_utc

    get_settings()
    engine = _current_store()
    try:
        with engine.begin() as conn:
            frame = batch.export_grades(conn, _day(as_of) if as_of else None)
            Store(conn).audit(
                now_utc(),
                f"cli:{getpass.getuser()}",
                "export_grades",
                "grades",
                {"as_of": as_of, "rows": len(frame), "out": str(out.resolve())},
            )
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, encoding="utf-8")
    console.print(f"wrote {len(frame):,} grades to {out}")


def report_tables(reports: list[FileReport]) -> list[Table]:
    """Per-file counts, then quarantined rows by reason (so nothing is dropped unseen)."""
    seconds = sum(r.seconds for r in reports)
    files = Table(title=f"ingest report: {len(reports)} files in {seconds:.1f} s")
    files.add_column("file", overflow="fold", min_width=22)
    files.add_column("kind", no_wrap=True)
    for column in ("read", "quarantined", "waiting", "corrected", "unverified", "new", "versioned", "unchanged"):
        files.add_column(column, justify="right", overflow="fold")
    for r in reports:
        kind = r.kind if r.status == "ingested" else f"[yellow]{r.status}[/yellow]"
        files.add_row(
            r.path.name,
            kind,
            f"{r.rows_read:,}",
            f"{r.rows_quarantined:,}",
            f"{r.rows_waiting:,}",
            f"{r.rows_corrected:,}",
            f"{r.persons_unverified:,}",
            f"{r.facts_new:,}",
            f"{r.facts_versioned:,}",
            f"{r.facts_unchanged:,}",
        )
    total = lambda attr: f"{sum(getattr(r, attr) for r in reports):,}"  # noqa: E731
    files.add_section()
    files.add_row(
        "total",
        "",
        total("rows_read"),
        total("rows_quarantined"),
        total("rows_waiting"),
        total("rows_corrected"),
        total("persons_unverified"),
        total("facts_new"),
        total("facts_versioned"),
        total("facts_unchanged"),
    )
    files.caption = (
        "waiting: quarantined until registration data can place them (`credit-engine requeue`); "
        "corrected: placed on a registered entity by correcting a check-failed code "
        "(flag uscc_corrected); unverified: persons kept by name and masked number, ID invalid "
        "or missing (flag person_unverified)"
    )
    reasons = Table("file", "reason", "rows", title="quarantined rows by reason")
    for r in reports:
        for code, n in r.quarantined.most_common():
            reasons.add_row(r.path.name, code, f"{n:,}")
    return [files, reasons] if reasons.row_count else [files]


app.add_typer(sample_app, name="sample")

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain from its first row; name the first broken link."""
    from sqlalchemy.engine import make_url

    from credit_engine.store.audit import verify

    settings = get_settings()
    logs = {"audit log": _current_store()}
    reads = settings.read_audit_url
    if reads != settings.db_url and (
        not reads.startswith("sqlite") or Path(cast(str, make_url(reads).database)).exists()
    ):
        logs["audit log of reads"] = make_engine(reads)
    broken = False
    for name, engine in logs.items():
        with engine.connect() as conn:
            found = verify(conn)
        if found.intact:
            console.print(f"{name} intact: {found.rows} rows chained")
        else:
            broken = True
            console.print(
                f"[red]{name} broken at row {found.broken_at}[/red] ({found.rows} rows read): {found.problem}"
            )
    if broken:
        raise typer.Exit(1)


keys_app = typer.Typer(help="API keys of the service (only their hashes are stored).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _current_store():
    """The configured store, refused with the command to run when its schema is not current."""
    engine = make_engine(get_settings().db_url)
    try:
        require_current(engine)
    except SchemaNotCurrent as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    return engine


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="regulator, inspection, analyst, admin or auditor (read-only)")],
    scope: Annotated[str | None, typer.Option(help="regulator only: region-code prefixes, e.g. 2301,2306")] = None,
    name: Annotated[str | None, typer.Option(help="who holds the key")] = None,
) -> str:
    """Create a key and print it once: it cannot be shown again."""
    from credit_engine.keys import Role, create_key, parse_scopes
    from credit_engine.store.repository import Store, now_utc

    try:
        chosen, scopes = Role(role), parse_scopes(scope)
        with _current_store().begin() as conn:
            key_id, key = create_key(conn, chosen, name or f"{role}-key", scopes)
            Store(conn).audit(
                now_utc(),
                f"cli:{getpass.getuser()}",
                "key_create",
                f"key:{key_id}",
                {"role": role, "scopes": list(scopes), "name": name},
            )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red] (roles: {', '.join(r.value for r in Role)})")
        raise typer.Exit(2) from exc
    console.print(f"key {key_id} ({role}{' ' + ','.join(scopes) if scopes else ''}): {key}")
    return key


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the key's number, from `keys list`")]) -> None:
    """Revoke a key at once."""
    from credit_engine.keys import revoke_key
    from credit_engine.store.repository import Store, now_utc

    with _current_store().begin() as conn:
        if not revoke_key(conn, key_id):
            console.print(f"[red]no active key {key_id}[/red]")
            raise typer.Exit(1)
        Store(conn).audit(now_utc(), f"cli:{getpass.getuser()}", "key_revoke", f"key:{key_id}", {})
    console.print(f"key {key_id} revoked")


@keys_app.command("list")
def keys_list() -> None:
    """Every key with its role, scopes and state (never the key)."""
    from credit_engine.keys import list_keys

    table = Table("id", "name", "role", "scopes", "prefix", "created", "revoked")
    with _current_store().connect() as conn:
        for k in list_keys(conn):
            table.add_row(
                str(k["id"]),
                k["name"],
                k["role"],
                k["scopes"] or "all",
                k["prefix"] + "…",
                f"{k['created_at']:%Y-%m-%d %H:%M}",
                f"{k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else "",
            )
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="processes; with more than one, set CREDIT_ENGINE_RATE_LIMIT_STORAGE=redis://… to share the limits",
        ),
    ] = 1,
    log_file: Annotated[Path | None, typer.Option(help="write the JSON access log here instead of stderr")] = None,
) -> None:
    """Serve the API and the public query page with uvicorn."""
    import uvicorn

    from credit_engine.logs import log_config
    from credit_engine.settings import InsecureSettingsError

    try:
        console.print(get_settings().check_bind(host))
    except InsecureSettingsError as exc:
        console.print(f"[red]refused: {exc}[/red]")
        raise typer.Exit(2) from exc
    settings = get_settings()
    upgrade(make_engine(settings.db_url))  # serve migrates at start, before the workers (which would race)
    if settings.read_audit_url != settings.db_url:
        upgrade(make_engine(settings.read_audit_url))  # the reads' audit database (api.service)
    with _metrics_shared(workers):
        # X-Forwarded-For is the app's to read, from CREDIT_ENGINE_TRUSTED_PROXIES only (api.guards):
        # uvicorn's own handling believed any peer on 127.0.0.1
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            log_config=log_config(file=log_file),
            proxy_headers=False,
        )


@contextmanager
def _metrics_shared(workers: int) -> Iterator[None]:
    """Several workers count into one fresh folder (unless the deployment names its own), so a
    scrape answered by any of them reports all (api.metrics)."""
    if workers == 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="credit-engine-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


#: The synthetic province's last day: inspection results are known until then.
DEMO_AS_OF = "2026-06-30"
#: What a finished demo built, so that a second run serves it again instead of building a second
#: model, a second set of keys and a duplicate plan. It holds the demo's keys in clear: it lives in
#: the working folder of a development machine, and ``make demo-reset`` removes it.
DEMO_STATE = "demo.json"


@app.command()
def demo(
    entities: Annotated[int, typer.Option(min=10)] = 3000,
    seed: Annotated[int, typer.Option()] = 7,
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to serve on; 0: do not serve")] = 8000,
) -> None:
    """The whole flow on a synthetic province in the working folder, then the service; a second
    run serves what the first built."""
    import json
    import logging
    import warnings

    from credit_engine.synth.plans import PLAN_FILE

    warnings.filterwarnings("ignore")  # the libraries' deprecation notices are not the demo's news
    logging.getLogger("mlflow").setLevel(logging.ERROR)  # nor MLflow's table creation and pickling notes
    settings = get_settings()
    state_file = settings.var_dir / DEMO_STATE
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    if state is not None and (state["entities"], state["seed"]) != (entities, seed):
        console.print(
            f"[red]the demo in {settings.var_dir} was built with --entities {state['entities']} "
            f"--seed {state['seed']}: run `make demo-reset` to build another[/red]"
        )
        raise typer.Exit(2)
    if state is None:
        folder = settings.var_dir / "demo-province"
        synth(out=folder, entities=entities, seed=seed, as_of=DEMO_AS_OF)
        init()
        ingest([folder / "sources"], backfill=True)  # history: recorded when it was published
        link()
        build(as_of=DEMO_AS_OF)
        train(
            as_of=DEMO_AS_OF,
            months=36,
            shares=None,
            thresholds=None,
            promote_=True,
            table=None,
            label=None,
            id_column=None,
        )
        grade(as_of=DEMO_AS_OF)
        publicity_sweep(as_of=DEMO_AS_OF)
        draw_id = run_plan(folder / PLAN_FILE, show=5)
        keys = {
            role: keys_create(role=role, scope=None, name=f"demo-{role}")
            for role in ("regulator", "inspection", "analyst", "admin")
        }
        state = {"entities": entities, "seed": seed, "draw": draw_id, "keys": keys}
        state_file.write_text(json.dumps(state, indent=1))
    else:
        init()
        console.print(
            f"the demo is already built in {settings.var_dir}; serving it again (`make demo-reset` starts over)"
        )
        for role, key in state["keys"].items():
            console.print(f"demo key ({role}): {key}")
    if port:
        base = f"http://127.0.0.1:{port}"
        log_file = settings.var_dir / "access.log"
        console.print(
            f"\npublic page  {base}/\n双随机公示    {base}/inspections?draw={state['draw']}\n"
            f"API docs     {base}/docs\nmetrics      {base}/metrics\naccess log   {log_file}"
        )
        paths = {
            "regulator": "entities?grade=D",
            "inspection": "inspections/plans",
            "analyst": "models",
            "admin": "entities?grade=D",
        }
        for role, key in state["keys"].items():
            console.print(f"{role:<12} curl -H 'X-API-Key: {key}' '{base}/v1/{paths[role]}'")
        console.print("stop with Ctrl-C; `make demo` serves the same state again, `make demo-reset` starts over")
        serve(host="127.0.0.1", port=port, workers=1, log_file=log_file)


if __name__ == "__main__":
    app()


rules_app = typer.Typer(help="The rules the service applies (RULES.md), as data.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("show")
def rules_show(
    as_of: Annotated[str | None, typer.Option("--as-of", help="the date judged (YYYY-MM-DD); default today")] = None,
    diff: Annotated[
        str | None, typer.Option("--diff", help="a second date: show what changed from --as-of to it")
    ] = None,
    province: Annotated[str | None, typer.Option(help="two-digit province code (23 黑龙江): its own values")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Every value in force on a date with its source, article and tag (C read, P summary, U
    assumption); with --diff, what changed between the two dates."""
    import json as jsonlib

    from credit_engine.rules.report import rules_diff, rules_report

    day = _day(as_of)
    if diff:
        result = rules_diff(day, _day(diff), province)
        if as_json:
            console.print_json(jsonlib.dumps(result, ensure_ascii=False))
            return
        table = Table(
            "rule",
            "before",
            "after",
            "tag",
            "source",
            show_lines=True,
            title=f"{result['rule_set_from']} ({day}) -> {result['rule_set_to']} ({diff}): "
            f"{len(result['changes'])} change(s)",
        )
        for change in result["changes"]:
            old, new = change["before"] or {}, change["after"] or {}
            table.add_row(
                change["path"],
                str(old.get("value", "-")),
                str(new.get("value", "-")),
                f"{old.get('tag', '-')} -> {new.get('tag', '-')}",
                new.get("source") or old.get("source", ""),
            )
        console.print(table)
        return
    report = rules_report(day, province)
    if as_json:
        console.print_json(jsonlib.dumps(report, ensure_ascii=False))
        return
    table = Table(
        "rule",
        "value",
        "tag",
        "source",
        "note",
        show_lines=True,
        title=f"{report['rule_set']} in force on {day} (from {report['effective_from']})"
        + (f", province {province}" if province else ""),
    )
    for value in report["values"]:
        table.add_row(value["path"], str(value["value"]), value["tag"], value["source"], value["note"])
    console.print(table)
    console.print(f"transition: {report['transition']}")
