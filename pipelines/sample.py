"""``credit-engine sample``: a 双随机 draw from a plan file, and its reveal and verification.

``sample --plan PLAN.toml --seed N`` stores the plan (and the ``[[inspectors]]`` it lists),
prints the weights per class, commits the frame hash and the commitment of the seed, then
reveals and prints the sample. ``--commit-only`` stops after the commitment: publish it, then
``sample reveal DRAW --seed N --salt S``. ``sample verify DRAW [--frame FILE]`` re-runs a draw
from its published parts.
"""

from __future__ import annotations

# The sampling modules are imported inside the commands, as in ``pipelines.cli``: they pull in
# the scoring stack, which every other command would otherwise pay for at start-up.
import getpass
import json
import secrets
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from credit_engine.settings import get_settings
from credit_engine.store.db import SchemaNotCurrent, make_engine, require_current

sample_app = typer.Typer(
    help="双随机 draws: weights, commitment, seed, sample, verification.", invoke_without_command=True
)
console = Console(soft_wrap=True)  # as in cli.py


def _engine():
    """The configured store, refused with the command to run when its schema is not current."""
    engine = make_engine(get_settings().db_url)
    try:
        require_current(engine)
    except SchemaNotCurrent as exc:
        raise _fail(exc) from exc
    return engine


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]{exc}[/red]")
    return typer.Exit(2)


def _print_weights(summary: list[dict], sample_size: int, policy: str) -> None:
    table = Table(
        "class",
        "in scope",
        "capped",
        "eligible",
        "policy ratio",
        "range",
        "π",
        "expected draws",
        title=f"weights under {policy}: Σπ = {sample_size}",
    )
    for row in summary:
        low, high = row["policy_range"]
        table.add_row(
            row["class"],
            f"{row['in_scope']:,}",
            f"{row['capped']:,}",
            f"{row['eligible']:,}",
            f"{row['policy_ratio']:.0%}",
            f"{low:.0%}–{high:.0%}",
            f"{row['pi']:.4f}" + ("" if row.get("within_range", True) else " [yellow]outside[/yellow]"),
            f"{row['expected_draws']:.2f}",
        )
    console.print(table)
    if not all(row.get("within_range", True) for row in summary):
        console.print(
            "[yellow]the plan's size scales every class's ratio alike: a class marked outside is drawn "
            "at a rate outside the policy's range for it[/yellow]"
        )


def _print_sample(engine, draw_id: int, show: int) -> None:
    from credit_engine.sampling import ledger

    with engine.connect() as conn:
        row, sample = ledger.get_draw(conn, draw_id), ledger.sample_of(conn, draw_id)
    console.print(f"draw {draw_id}: seed [bold]{row['seed']}[/bold], salt {row['salt']}")
    table = Table("#", "uscc", "name", "π", "inspectors", title=f"sample of draw {draw_id}: {len(sample)} entities")
    for s in sample.head(show).itertuples():
        table.add_row(str(s.draw_order), s.uscc, s.name or "", f"{s.pi:.6f}", ", ".join(s.inspectors))
    console.print(table)
    if len(sample) > show:
        console.print(f"… and {len(sample) - show:,} more")


def _reveal(engine, draw_id: int, seed: str | None, salt: str | None, show: int) -> None:
    from credit_engine.sampling import ledger
    from credit_engine.sampling.inspectors import NoEligibleInspector

    try:
        with engine.begin() as conn:
            ledger.reveal(conn, draw_id, f"cli:{getpass.getuser()}", seed=seed, salt=salt)
    except (ValueError, ledger.DrawStateError, NoEligibleInspector) as exc:
        raise _fail(exc) from exc
    _print_sample(engine, draw_id, show)


@sample_app.callback()
def sample(
    ctx: typer.Context,
    plan: Annotated[Path | None, typer.Option(help="the plan, TOML (see credit_engine.sampling.plan)")] = None,
    seed: Annotated[str | None, typer.Option(help="your seed; absent: the service makes and keeps one")] = None,
    commit_only: Annotated[bool, typer.Option(help="stop after publishing the frame hash and the commitment")] = False,
    show: Annotated[int, typer.Option(min=0, help="sample rows to print")] = 20,
) -> None:
    """Draw a plan's sample: weights, frame hash and seed commitment, then the sample."""
    if ctx.invoked_subcommand:
        return
    if plan is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    run_plan(plan, seed, commit_only, show)


def run_plan(plan: Path, seed: str | None = None, commit_only: bool = False, show: int = 20) -> int:
    """Store the plan and its inspectors, commit a draw and (unless ``commit_only``) reveal it;
    returns the draw's number."""
    from credit_engine.sampling import draw, ledger
    from credit_engine.sampling.plan import load_plan

    try:
        chosen, pool = load_plan(plan)
    except (ValidationError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    engine, actor = _engine(), f"cli:{getpass.getuser()}"
    salt = secrets.token_hex(16) if seed is not None else None
    try:
        with engine.begin() as conn:
            ledger.upsert_inspectors(conn, pool, actor)
            stored = ledger.save_plan(conn, chosen, actor)
            row = ledger.commit(
                conn, stored.id, actor, commitment=draw.commitment(seed, salt) if seed and salt else None
            )
    except (ValueError, LookupError) as exc:
        raise _fail(exc) from exc
    _print_weights(json.loads(row["summary_json"]), row["sample_size"], stored.policy_id)
    console.print(
        f"plan {stored.id}, draw {row['id']}: {row['frame_size']:,} entities in the frame, "
        f"{row['sample_size']:,} to draw\nframe hash  {row['frame_hash']}\ncommitment  {row['commitment']}",
        soft_wrap=True,
    )
    if commit_only:
        again = f" --seed {seed} --salt {salt}" if seed is not None else ""
        console.print(f"publish both, then: credit-engine sample reveal {row['id']}{again}", soft_wrap=True)
        return row["id"]
    _reveal(engine, row["id"], seed, salt, show)
    return row["id"]


@sample_app.command("reveal")
def reveal(
    draw_id: Annotated[int, typer.Argument(help="the draw's number")],
    seed: Annotated[str | None, typer.Option(help="the seed committed to (your own)")] = None,
    salt: Annotated[str | None, typer.Option(help="the salt printed at the commit")] = None,
    show: Annotated[int, typer.Option(min=0)] = 20,
) -> None:
    """Reveal the seed of a committed draw and draw its sample."""
    _reveal(_engine(), draw_id, seed, salt, show)


@sample_app.command("verify")
def verify(
    draw_id: Annotated[int, typer.Argument(help="the draw's number")],
    frame: Annotated[Path | None, typer.Option(help="a downloaded frame instead of the stored one")] = None,
    seed: Annotated[str | None, typer.Option(help="a seed instead of the revealed one")] = None,
) -> None:
    """Re-run a drawn draw from its frame, seed and commitment; exit 1 if anything differs."""
    from credit_engine.sampling import ledger

    try:
        with _engine().connect() as conn:
            result = ledger.verify_stored(conn, draw_id, seed=seed, frame=frame.read_bytes() if frame else None)
    except (LookupError, ledger.DrawStateError, OSError) as exc:
        raise _fail(exc) from exc
    for name in ("commitment_matches", "frame_hash_matches", "sample_matches"):
        console.print(f"{name.replace('_', ' ')}: {'[green]yes[/green]' if getattr(result, name) else '[red]no[/red]'}")
    for problem in result.problems:
        console.print(f"[red]{problem}[/red]")
    if not result.ok:
        raise typer.Exit(1)
    console.print(f"draw {draw_id} verified")
